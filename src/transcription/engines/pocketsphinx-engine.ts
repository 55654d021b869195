import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../../process/managed-process.js';
import { describeExit } from '../../process/describe-exit.js';
import type { EngineAudioFormat, EngineChunk, LiveEngine, TranscriptSegment } from './engine.js';
import { buildPocketsphinxArgs, type PocketsphinxBinary } from './pocketsphinx-command.js';
import { parsePartialLine } from './stream-decoder-output.js';
import { createOutputParser, StreamTimeline, type OutputParser, type StreamUtterance } from './pocketsphinx-output.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PocketsphinxEngineOptions {
  binary: PocketsphinxBinary;
  sampleRate: number;
  /** Acoustic model dir; empty: the CLI's default en-us model. */
  hmm?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * How many bytes a process has read so far; undefined where it cannot be known. The default
   * reads Linux's /proc/<pid>/io. It tells when the decoder has consumed a chunk (nothing else
   * does: pocketsphinx prints only at utterance ends), which makes latency and lag exact.
   */
  readBytesRead?: (pid: number) => Promise<number | undefined>;
  pollMs?: number;
}

const STDERR_TAIL = 30;
/**
 * The break that ends an utterance: silence longer than the decoder's `-vad_postspeech` (0.5 s).
 * Fed where the chunks' session time jumps, either way (a capture restart, a chunk set aside,
 * runs of a file read at full speed that overlap), so no utterance joins audio that was never
 * adjacent; and by the live path (writeBreak) at a restart or to cut a long utterance.
 */
const BREAK_SECONDS = 1;
/** A jump in session time smaller than this is rounding between chunk offsets, not a break. */
const BREAK_MIN_GAP_SECONDS = 0.05;

/** `rchar:` of /proc/<pid>/io: bytes the process got from read(2) and friends. Pure. */
export function parseRchar(procIo: string): number | undefined {
  const match = /^rchar:\s*(\d+)\s*$/m.exec(procIo);
  return match ? Number(match[1]) : undefined;
}

export async function procBytesRead(pid: number): Promise<number | undefined> {
  try {
    return parseRchar(await fsp.readFile(`/proc/${pid}/io`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CMU PocketSphinx as one long-lived subprocess per session: every chunk's PCM goes, in order,
 * into the same decoder, which splits utterances on silence by itself (so an utterance may
 * cross chunk boundaries and come back with a later chunk). Utterance times are stream-relative;
 * a StreamTimeline maps them to session time.
 */
export class PocketsphinxEngine implements LiveEngine {
  readonly name = 'pocketsphinx';
  readonly needsSilence = true;
  readonly model: string;
  private process: ManagedProcess | undefined;
  private writer: net.Socket | undefined;
  private dir: string | undefined;
  private parser!: OutputParser;
  private timeline = new StreamTimeline();
  private completed: StreamUtterance[] = [];
  private stderrTail: string[] = [];
  private fedBytes = 0;
  /** Stream seconds up to the end of the last utterance printed. */
  private finalizedStream = 0;
  private flushed = false;
  private baseline: number | undefined;
  private failure: Error | undefined;
  private closing = false;
  private liveListener: ((segment: TranscriptSegment) => void) | undefined;
  private partialListener: ((text: string) => void) | undefined;
  /** start() and close() one at a time, in call order. */
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly readBytesRead: (pid: number) => Promise<number | undefined>;
  private readonly pollMs: number;
  /** echolog exits with the decoder not closed: end it, and remove its FIFO's folder (in the temp folder, os.tmpdir()). */
  private readonly killOnExit = (): void => {
    if (this.process && !this.process.hasExited) endProcessGroup(this.process.pid);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(private readonly options: PocketsphinxEngineOptions) {
    this.model = options.hmm || 'en-us';
    this.readBytesRead = options.readBytesRead ?? procBytesRead;
    this.pollMs = options.pollMs ?? 25;
  }

  get audioFormat(): EngineAudioFormat {
    return { sampleRate: this.options.sampleRate };
  }

  /** The decoder program it runs. */
  get binary(): PocketsphinxBinary {
    return this.options.binary;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts the decoder; resolves once it has loaded its model and opened the audio FIFO. */
  start(): Promise<void> {
    return this.inTurn(() => this.startNow());
  }

  /**
   * Ends the decoder. In turn with start(): a start a caller gave up waiting for (a timeout) may
   * still be spawning, and its process must be the one ended, never left running (it would keep
   * echolog from exiting). `closing` is set at once, which cancels a start waiting for the FIFO.
   */
  close(): Promise<void> {
    this.closing = true;
    return this.inTurn(() => this.closeNow());
  }

  private inTurn(step: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(step);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async startNow(): Promise<void> {
    if (this.process && !this.process.hasExited && !this.failure) return;
    await this.closeNow();
    this.closing = false;
    this.flushed = false;
    this.failure = undefined;
    this.parser = createOutputParser(this.options.binary.variant);
    this.timeline = new StreamTimeline();
    this.completed = [];
    this.stderrTail = [];
    this.fedBytes = 0;
    this.finalizedStream = 0;
    this.liveListener = undefined;
    this.partialListener = undefined;
    this.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'echolog-pocketsphinx-'));
    const fifo = path.join(this.dir, 'audio.raw');
    await makeFifo(fifo);
    const args = buildPocketsphinxArgs(this.options.binary, { input: fifo, sampleRate: this.options.sampleRate, hmm: this.options.hmm });
    // Own process group, like ffmpeg: a Ctrl-C in the terminal reaches echolog only, which then
    // drains the decoder in order. If echolog dies, the FIFO's write end closes with it and the
    // decoder reads EOF, prints what it holds and exits: it cannot outlive us for long.
    const child = await ManagedProcess.start(this.options.binary.path, args, { env: this.options.env, detached: true });
    this.process = child;
    process.on('exit', this.killOnExit);
    child.onLines('stdout', (line) => {
      const partial = parsePartialLine(line);
      if (partial === undefined) this.collect(this.parser.push(line));
      else this.partialListener?.(partial);
    });
    child.onLines('stderr', (line) => {
      if (this.stderrTail.push(line) > STDERR_TAIL) this.stderrTail.shift();
    });
    void child.exited.then((exit) => {
      if (!this.closing) this.failure = new Error(describeExit(decoderName(this.options.binary), exit, this.stderrTail, { maxLines: 3 }));
      this.writer?.destroy();
    });
    this.writer = await this.openFifo(fifo, child);
    this.baseline = await this.readBytesRead(child.pid);
  }

  /** Takes the chunk's audio piece by piece: the decoder reads it as fast as it comes. */
  async transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]> {
    this.running();
    const fedUntil = this.timeline.sessionEnd;
    if (fedUntil !== undefined && Math.abs(chunk.offsetSeconds - fedUntil) > BREAK_MIN_GAP_SECONDS) {
      this.timeline.append(chunk.seq, fedUntil, BREAK_SECONDS, 0);
      await this.write(this.running(), this.breakSilence());
    }
    let at = chunk.offsetSeconds;
    for await (const piece of chunk.audio()) {
      const seconds = piece.length / 2 / this.options.sampleRate;
      this.timeline.append(chunk.seq, at, seconds);
      at += seconds;
      await this.write(this.running(), piece);
    }
    await this.caughtUp();
    return this.take();
  }

  private breakSilence(): Buffer {
    return Buffer.alloc(Math.round(BREAK_SECONDS * this.options.sampleRate) * 2);
  }

  /** Session seconds: the end of the last utterance (an utterance after it may be in progress). */
  finalizedThrough(): number {
    if (this.flushed) return Infinity;
    return this.timeline.fedSeconds > 0 ? this.timeline.toSession(this.finalizedStream) : 0;
  }

  /** Ends the stream: the decoder finishes the utterance in progress, prints it and exits. */
  async flush(): Promise<TranscriptSegment[]> {
    const child = this.process;
    if (child && !child.hasExited && this.writer) {
      this.closing = true;
      this.writer.end();
      await child.exited;
      if (this.failure) throw this.failure;
    }
    if (this.parser) this.collect(this.parser.end());
    this.flushed = true;
    return this.take();
  }

  private async closeNow(): Promise<void> {
    this.closing = true;
    this.writer?.destroy();
    this.writer = undefined;
    const child = this.process;
    // Forget it at once: its group is ended exactly once, right after it exited.
    this.process = undefined;
    if (child) {
      if (!child.hasExited) await child.stop({ stepTimeoutMs: 1000 });
      endProcessGroup(child.pid);
    }
    process.off('exit', this.killOnExit);
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private running(): net.Socket {
    if (this.failure) throw this.failure;
    if (!this.process || this.process.hasExited || !this.writer || this.writer.destroyed) throw new Error('pocketsphinx is not running');
    return this.writer;
  }

  /** Waits until the decoder has read everything fed so far (then a moment for its output). */
  private async caughtUp(): Promise<void> {
    const child = this.process!;
    if (this.baseline === undefined) return;
    // Bounded by the caller's attempt timeout (ChunkTranscriber's withTimeout), after which close() ends the decoder and this loop.
    for (;;) {
      if (this.failure) throw this.failure;
      const read = await this.readBytesRead(child.pid);
      if (read === undefined) {
        // It answered at start, so the process is gone: wait for its exit to say why.
        await Promise.race([child.exited, sleep(2000)]);
        throw this.failure ?? new Error(`${decoderName(this.options.binary)} stopped reading audio`);
      }
      if (read - this.baseline >= this.fedBytes) break;
      await sleep(this.pollMs);
    }
    // The last block is decoded and its utterance (if one ended) printed a few ms after the read.
    await sleep(this.pollMs * 2);
    if (this.failure) throw this.failure;
  }

  /**
   * Live mode: audio comes as it is captured (writeLive) rather than per chunk, and each utterance
   * goes to `onSegment` the moment the decoder prints it; the stream decoder's partial
   * hypotheses go to `onPartial` ('' once its utterance has ended).
   */
  beginLive(onSegment: (segment: TranscriptSegment) => void, onPartial?: (text: string) => void): void {
    this.liveListener = onSegment;
    this.partialListener = onPartial;
  }

  /**
   * Writes live audio captured from session second `sessionStart`; `sessionSeconds` 0 marks
   * silence echolog adds to end an utterance. Resolves once the pipe has taken it, which a
   * stopped decoder never does: the caller must not wait on it with anything that matters.
   */
  async writeLive(pcm: Buffer, sessionStart: number): Promise<void> {
    const writer = this.running();
    this.timeline.append(0, sessionStart, pcm.length / 2 / this.options.sampleRate);
    await this.write(writer, pcm);
  }

  /** Silence that ends the utterance: stream time, no session time. */
  async writeBreak(sessionAt: number): Promise<number> {
    const writer = this.running();
    this.timeline.append(0, sessionAt, BREAK_SECONDS, 0);
    await this.write(writer, this.breakSilence());
    return BREAK_SECONDS;
  }

  /** Into the FIFO; a write that fails is reported as how the decoder died, if it did. */
  private async write(writer: net.Socket, pcm: Buffer): Promise<void> {
    this.fedBytes += pcm.length;
    const writeError = await new Promise<Error | null | undefined>((resolve) => writer.write(pcm, resolve));
    if (writeError) {
      await Promise.race([this.process?.exited, sleep(2000)]);
      throw this.failure ?? new Error(`writing audio to pocketsphinx: ${writeError.message}`);
    }
  }

  /** Stream seconds the decoder has read so far; undefined where that cannot be known. */
  async streamSecondsRead(): Promise<number | undefined> {
    const child = this.process;
    if (!child || this.baseline === undefined) return undefined;
    const read = await this.readBytesRead(child.pid);
    return read === undefined ? undefined : (read - this.baseline) / 2 / this.options.sampleRate;
  }

  private collect(done: StreamUtterance[]): void {
    for (const u of done) this.finalizedStream = Math.max(this.finalizedStream, u.end);
    if (this.liveListener) for (const u of done) this.liveListener(this.timeline.mapSegment(u));
    else this.completed.push(...done);
  }

  private take(): TranscriptSegment[] {
    const done = this.completed.map((u) => this.timeline.mapSegment(u));
    this.completed = [];
    return done;
  }

  private async openFifo(fifo: string, child: ManagedProcess): Promise<net.Socket> {
    // Bounded by ready_timeout: a start the caller gave up on is closed (`closing`), a decoder that dies sets `failure`.
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closing) throw new Error('pocketsphinx start was cancelled');
      try {
        // Non-blocking: ENXIO until the decoder, done loading, opens the FIFO for reading.
        const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        const socket = new net.Socket({ fd, readable: false, writable: true });
        // A write to a dead decoder fails with EPIPE; transcribe() reports how the decoder died instead.
        socket.on('error', () => undefined);
        return socket;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      }
      if (child.hasExited) await sleep(this.pollMs);
      await sleep(this.pollMs);
    }
  }
}

/** What error messages call the decoder: the CLI's name, or the stream decoder's script. */
function decoderName(binary: PocketsphinxBinary): string {
  return path.basename(binary.script ?? binary.path).replace(/\.js$/, '');
}

/**
 * The decoder leads its own process group (detached). A wrapper script installed as
 * pocketsphinx_continuous may have left a child in it after the leader exited: end those too.
 * Safe after the leader's exit: Linux does not reuse a pid while a group of that id exists.
 */
function endProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is empty, as it should be.
  }
}

async function makeFifo(file: string): Promise<void> {
  // Node has no mkfifo(3); coreutils' mkfifo is everywhere pocketsphinx is.
  const mkfifo = await ManagedProcess.start('mkfifo', ['-m', '600', file]);
  const stderr = mkfifo.lastLines('stderr', 3);
  const exit = await mkfifo.exited;
  if (exit.code !== 0) throw new Error(`could not make the FIFO ${file}: ${describeExit('mkfifo', exit, stderr)}`);
}

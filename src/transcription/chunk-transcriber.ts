import { startingProgress, type TranscriberProgress } from '../store/session-manifest.js';
import { withTimeout } from '../with-timeout.js';
import type { EchologConfig } from '../config/schema.js';
import type { Logger } from '../logging/session-log.js';
import type { Chunk } from '../recorder/chunk.js';
import { formatDb, isSilent } from '../audio/audio-level.js';
import { engineAudioPieces, measureFileLevel, type EngineAudioFormat } from '../audio/engine-audio.js';
import type { DebugAudioDump } from '../audio/debug-audio-dump.js';
import type { EngineChunk, EngineFault, TranscriptionEngine, TranscriptSegment } from './engines/engine.js';
import { SharedBusyTime } from './busy-time.js';
import { CommitOrder, type CommitTurn } from './transcript/ordered-commits.js';
import { countWords, type TranscriptLine } from './transcript/transcript-formats.js';
import type { TranscriptStore } from './transcript/transcript-store.js';
import { roundToMs } from '../round-seconds.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChunkTranscriberOptions {
  /** Undefined: the engine could not start; chunks are only counted as left for `echolog transcribe`. */
  engine: TranscriptionEngine | undefined;
  engineName: string;
  config: EchologConfig['transcription'];
  /** Decodes chunks that are not in the engine's own format (see EngineChunk.audio). */
  ffmpegPath: string;
  store: TranscriptStore;
  logger: Logger;
  dump?: DebugAudioDump;
  onText?: (line: TranscriptLine) => void;
  onWarning?: (message: string) => void;
  onProgress?: (progress: TranscriberProgress) => void;
  /** Chunks arrive in real time (recording): warn when the engine falls behind. False for `echolog transcribe`. */
  realtime?: boolean;
  /** Base of the retry backoff: base, 2×base, 4×base … (capped at 8 s). */
  retryBaseMs?: number;
  now?: () => number;
}

export const LAG_WINDOW_CHUNKS = 5;
const LAG_MIN_CHUNKS = 3;
const RECENT_CHUNKS = 100;

interface QueuedChunk {
  chunk: Chunk;
  enqueuedAt: number;
}

interface OpenChunk {
  seq: number;
  start: number;
  end: number;
  enqueuedAt: number;
}

/**
 * The transcription queue: chunks in order, one at a time, off the recording path (`enqueue`
 * returns at once). Silent chunks are gated; a failed chunk is retried with backoff (restarting
 * the engine), then logged as failed and left for `echolog transcribe`.
 */
export class ChunkTranscriber {
  private readonly queue: QueuedChunk[] = [];
  private working: Promise<void> | undefined;
  private abandoned = false;
  /** drain() was called: chunks enqueued later are left, never started. */
  private drained = false;
  private lagWarned = false;
  private readonly window: Array<{ busySeconds: number; audioSeconds: number }> = [];
  private readonly busyTime = new SharedBusyTime();
  private readonly failed: number[] = [];
  /** Chunks fed whose text may still be in progress in a streaming engine (see finalizedThrough). */
  private open: OpenChunk[] = [];
  /** Chunks fed to an engine run that stopped before finalizing them: their text in progress is gone. */
  private readonly lost: number[] = [];
  /** Chunks being transcribed: one, or up to the engine's `concurrency`. */
  private readonly inFlight = new Set<QueuedChunk>();
  private wake: (() => void) | undefined;
  private fedAny = false;
  /** Ends the current chunk's audio (and its decoder) when the queue is abandoned. */
  private readonly stopAudio = new AbortController();
  /** The last chunks fed, in order: where an utterance starts. */
  private readonly recent: OpenChunk[] = [];
  private readonly now: () => number;
  readonly progress: TranscriberProgress;

  constructor(private readonly options: ChunkTranscriberOptions) {
    this.now = options.now ?? Date.now;
    this.progress = startingProgress(options.engineName, options.engine ? 'running' : 'unavailable');
  }

  /** Never blocks: queues the chunk and makes sure the worker runs. */
  enqueue(chunk: Chunk): void {
    // After drain() nothing may restart the engine it closed: a late chunk is left, and said so.
    if (this.drained) {
      this.options.logger.warning('chunk_transcription_failed', {
        seq: chunk.seq,
        engine: this.options.engineName,
        attempts: 0,
        reason: 'the transcription queue had stopped',
        detail: 'left for `echolog transcribe`',
      });
      return;
    }
    this.queue.push({ chunk, enqueuedAt: this.now() });
    this.report();
    this.wake?.();
    this.working ??= this.work().finally(() => (this.working = undefined));
  }

  /** Resolves when the queue is empty (now, or once the worker is done). */
  async idle(): Promise<void> {
    // Unbounded here on purpose: drain() bounds it with drain_timeout, then abandons the queue.
    while (this.working) await this.working;
  }

  /**
   * Waits for the queue up to `timeoutMs`, then stops taking chunks; flushes the engine's held
   * text if everything was fed. Returns the seqs left untranscribed (failed or never reached).
   * `graceMs`: what stopping the worker and the final flush may add beyond `timeoutMs` (0 for a
   * signalled stop, whose bound is the whole budget).
   */
  async drain(timeoutMs: number, graceMs = 2000): Promise<number[]> {
    this.drained = true;
    const deadline = this.now() + timeoutMs;
    const done = await withTimeout(this.idle(), timeoutMs, 'draining').then(
      () => true,
      () => false,
    );
    if (!done) {
      this.abandoned = true;
      this.stopAudio.abort(new Error('the transcription queue was stopped'));
      await this.options.engine?.close().catch(() => undefined);
      await withTimeout(this.idle(), graceMs, 'stopping').catch(() => undefined);
    } else if (this.options.engine && this.fedAny) {
      await this.flush(Math.max(deadline - this.now(), graceMs));
    }
    // A retry still waiting out its backoff must not start the closed engine again.
    this.abandoned = true;
    await this.options.engine?.close().catch(() => undefined);
    this.progress.state = 'stopped';
    const left = [
      ...this.failed,
      ...this.lost,
      ...this.open.map((o) => o.seq),
      ...[...this.inFlight].map((q) => q.chunk.seq),
      ...this.queue.map((q) => q.chunk.seq),
    ].sort((a, b) => a - b);
    this.report();
    return [...new Set(left)];
  }

  private async flush(timeoutMs: number): Promise<void> {
    const engine = this.options.engine!;
    try {
      const segments = await withTimeout(engine.flush(), timeoutMs, 'flushing the engine');
      await this.record(segments, this.open.at(-1)?.enqueuedAt ?? this.now());
      await this.settle(Infinity);
    } catch (error) {
      this.options.logger.warning('transcription_flush_failed', { engine: this.options.engineName, reason: (error as Error).message });
      this.loseOpen((error as Error).message);
    }
  }

  /** Takes chunks in order, up to the engine's concurrency at once; their text is written in order. */
  private async work(): Promise<void> {
    const limit = Math.max(1, this.options.engine?.concurrency ?? 1);
    const order = new CommitOrder();
    const running = new Set<Promise<void>>();
    while (!this.abandoned) {
      while (running.size < limit && this.queue.length > 0 && !this.abandoned) {
        const item = this.queue.shift()!;
        this.inFlight.add(item);
        const turn = order.take();
        const job: Promise<void> = this.run(item, turn).finally(() => {
          turn.release();
          this.inFlight.delete(item);
          running.delete(job);
          this.report();
        });
        running.add(job);
      }
      if (running.size === 0) break;
      // A slot frees, or a chunk arrives while a slot is free.
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      await Promise.race([...running, ...(running.size < limit ? [woken] : [])]);
      this.wake = undefined;
    }
  }

  private async run(item: QueuedChunk, turn: CommitTurn): Promise<void> {
    try {
      await this.handle(item, turn);
      // Stopped mid-chunk by the drain timeout: the chunk is left, like those never reached.
      if (this.abandoned) this.lost.push(item.chunk.seq);
    } catch (error) {
      this.options.logger.error('transcription_error', { seq: item.chunk.seq, reason: (error as Error).message });
      this.failed.push(item.chunk.seq);
    }
  }

  private async handle(item: QueuedChunk, turn: CommitTurn): Promise<void> {
    const { chunk } = item;
    const { engine, logger, config } = this.options;
    if (!engine) {
      this.failed.push(chunk.seq);
      return;
    }
    // A streaming engine takes silence too (it ends its utterances): only the others are gated.
    const level = engine.needsSilence ? undefined : await measureFileLevel(chunk.path, chunk.wav, { signal: this.stopAudio.signal });
    if (level && isSilent(level, config.silence_threshold_db)) {
      logger.info('chunk_silent', {
        seq: chunk.seq,
        level_db: formatDb(level.levelDb),
        peak_db: formatDb(level.peakDb),
        threshold_db: config.silence_threshold_db,
      });
      await turn.ready();
      this.progress.silent_chunks++;
      await this.options.store.append([
        {
          seq: chunk.seq,
          start: chunk.offsetSeconds,
          end: roundToMs(chunk.offsetSeconds + chunk.durationSeconds),
          text: '',
          engine: this.options.engineName,
          latency_ms: 0,
          chunk: 'silent',
        },
      ]);
      return;
    }
    const engineChunk: EngineChunk = {
      seq: chunk.seq,
      path: chunk.path,
      offsetSeconds: chunk.offsetSeconds,
      durationSeconds: chunk.durationSeconds,
      audio: () => this.engineAudio(chunk, engine.audioFormat),
    };
    // An engine with its own bound (the daemon client) reports its timeout itself, with its reason.
    const attemptTimeoutMs = Math.max(10_000, chunk.durationSeconds * 5000, (engine.attemptTimeoutMs ?? 0) + 1000);
    for (let attempt = 0; ; attempt++) {
      if (this.abandoned) return;
      const started = this.now();
      this.busyTime.begin(item, started);
      try {
        if (attempt > 0 && !engine.concurrency)
          await withTimeout(engine.start(), this.options.config.ready_timeout * 1000, 'restarting the engine');
        const segments = await withTimeout(engine.transcribe(engineChunk), attemptTimeoutMs, `transcribing chunk ${chunk.seq}`);
        const finished = this.now();
        const computeMs = finished - started;
        const busySeconds = this.busyTime.end(item, finished);
        await turn.ready();
        if (this.abandoned) return;
        this.fedAny = true;
        const fed = {
          seq: chunk.seq,
          start: chunk.offsetSeconds,
          end: roundToMs(chunk.offsetSeconds + chunk.durationSeconds),
          enqueuedAt: item.enqueuedAt,
        };
        this.open.push(fed);
        if (this.recent.push(fed) > RECENT_CHUNKS) this.recent.shift();
        const chars = await this.record(segments, item.enqueuedAt);
        await this.settle(engine.finalizedThrough?.() ?? Infinity);
        logger.info('chunk_transcribed', {
          seq: chunk.seq,
          engine: this.options.engineName,
          latency_ms: this.now() - item.enqueuedAt,
          compute_ms: computeMs,
          chars,
          utterances: segments.length,
          attempts: attempt + 1,
          ...engine.chunkFields?.(chunk.seq),
        });
        this.noteSpeed(busySeconds, chunk.durationSeconds);
        return;
      } catch (error) {
        this.busyTime.end(item, this.now());
        if (this.abandoned) return;
        const reason = (error as Error).message;
        const fault = error as EngineFault;
        if (attempt >= config.max_retries || fault.retryable === false) {
          await turn.ready();
          logger.warning('chunk_transcription_failed', {
            seq: chunk.seq,
            engine: this.options.engineName,
            attempts: attempt + 1,
            reason,
            detail: 'left for `echolog transcribe`',
          });
          this.failed.push(chunk.seq);
          this.loseOpen(reason);
          return;
        }
        // The server's Retry-After, when it gave one (the engine bounds it), else exponential.
        const backoffMs = Math.max(fault.retryAfterMs ?? 0, Math.min((this.options.retryBaseMs ?? 500) * 2 ** attempt, 8000));
        logger.warning('chunk_transcription_retry', {
          seq: chunk.seq,
          engine: this.options.engineName,
          attempt: attempt + 1,
          retry_in_ms: backoffMs,
          ...(fault.status ? { status: fault.status } : {}),
          reason,
        });
        // An engine with state restarts; a stateless one (concurrency) has nothing to restart and other chunks in flight.
        if (!engine.concurrency) await engine.close().catch(() => undefined);
        this.loseOpen(reason);
        for (const until = this.now() + backoffMs; this.now() < until && !this.abandoned;) await sleep(Math.min(100, backoffMs));
      }
    }
  }

  /** The chunk in the engine's format, in bounded pieces; each piece is also what the debug dump gets. */
  private async *engineAudio(chunk: Chunk, format: EngineAudioFormat | undefined): AsyncGenerator<Buffer> {
    if (!format) throw new Error(`the ${this.options.engineName} engine reads chunk files itself; it takes no audio`);
    for await (const piece of engineAudioPieces(chunk.path, chunk.wav, format, this.options.ffmpegPath, {
      signal: this.stopAudio.signal,
    })) {
      await this.options.dump?.write(piece);
      yield piece;
    }
  }

  /** Appends an utterance line per segment (seq: the chunk it starts in); returns the characters of text. */
  private async record(segments: TranscriptSegment[], enqueuedAt: number): Promise<number> {
    const engine = this.options.engineName;
    const latencyMs = this.now() - enqueuedAt;
    const lines: TranscriptLine[] = segments
      .filter((s) => s.text.trim().length > 0)
      .map((s) => ({
        seq: this.seqAt(s.start),
        start: s.start,
        end: s.end,
        text: s.text.trim(),
        engine,
        latency_ms: latencyMs,
        ...(s.words ? { words: s.words } : {}),
      }));
    await this.options.store.append(lines);
    let chars = 0;
    for (const line of lines) {
      chars += line.text.length;
      this.progress.utterance_count++;
      this.progress.word_count += countWords(line.text);
      this.options.onText?.(line);
    }
    return chars;
  }

  /** Writes the chunk line of every open chunk whose audio ends by `finalized` (session seconds). */
  private async settle(finalized: number): Promise<void> {
    const done: TranscriptLine[] = [];
    while (this.open.length > 0 && this.open[0]!.end <= finalized + 0.001) {
      const o = this.open.shift()!;
      done.push({
        seq: o.seq,
        start: o.start,
        end: o.end,
        text: '',
        engine: this.options.engineName,
        latency_ms: this.now() - o.enqueuedAt,
        chunk: 'transcribed',
      });
    }
    this.progress.transcribed_chunks += done.length;
    await this.options.store.append(done);
  }

  /** The engine run ended: text in progress for the open chunks is gone; leave them for `echolog transcribe`. */
  private loseOpen(reason: string): void {
    if (this.open.length === 0) return;
    const seqs = this.open.map((o) => o.seq);
    this.open = [];
    this.lost.push(...seqs);
    this.options.logger.warning('chunks_unfinalized', {
      seqs: seqs.join(','),
      engine: this.options.engineName,
      reason,
      detail: 'the engine stopped with text in progress for these chunks; left for `echolog transcribe`',
    });
  }

  /** The fed chunk an utterance starts in (else the nearest fed before it). */
  private seqAt(start: number): number {
    const before = this.recent.filter((o) => o.start <= start + 0.001);
    return (before.at(-1) ?? this.recent[0])?.seq ?? [...this.inFlight][0]?.chunk.seq ?? 0;
  }

  /** Chunks in flight together share the wall clock (SharedBusyTime): time they overlap is counted once. */
  private noteSpeed(busySeconds: number, audioSeconds: number): void {
    this.window.push({ busySeconds, audioSeconds });
    if (this.window.length > LAG_WINDOW_CHUNKS) this.window.shift();
    const audio = this.window.reduce((sum, w) => sum + w.audioSeconds, 0);
    const ratio = audio > 0 ? this.window.reduce((sum, w) => sum + w.busySeconds, 0) / audio : 0;
    this.progress.realtime_factor = Math.round(ratio * 100) / 100;
    if (!this.lagWarned && this.options.realtime !== false && this.window.length >= LAG_MIN_CHUNKS && ratio > 1) {
      this.lagWarned = true;
      const message =
        `transcription is slower than real time (${ratio.toFixed(2)}× over the last ${this.window.length} chunks); ` +
        'the transcript lags behind the recording';
      this.options.logger.warning('transcription_behind', {
        engine: this.options.engineName,
        ratio: Math.round(ratio * 100) / 100,
        window_chunks: this.window.length,
        pending_chunks: this.queue.length,
      });
      this.options.onWarning?.(message);
    }
  }

  private report(): void {
    const pending = [...this.inFlight, ...this.queue];
    this.progress.pending_chunks = pending.length;
    this.progress.lag_seconds = roundToMs(pending.reduce((sum, q) => sum + q.chunk.durationSeconds, 0));
    this.progress.failed_chunks = this.failed.length + this.lost.length;
    this.options.onProgress?.(this.progress);
  }
}

import type { Readable } from 'node:stream';
import { DecoderPosition, STALL_MS } from './decoder-position.js';
import type { Logger } from '../../logging/session-log.js';
import type { Chunk } from '../../recorder/chunk.js';
import type { DebugAudioDump } from '../../audio/debug-audio-dump.js';
import { withTimeout } from '../../with-timeout.js';
import { startingProgress, type TranscriberProgress } from '../../store/session-manifest.js';
import type { LiveEngine, TranscriptSegment } from '../engines/engine.js';
import { isSilent, measureLevel } from '../../audio/audio-level.js';
import { LiveAudioFeed } from './live-audio-feed.js';
import { roundToMs } from '../../round-seconds.js';
import { countWords, type TranscriptLine } from '../transcript/transcript-formats.js';
import type { TranscriptStore } from '../transcript/transcript-store.js';
import { chunkContribution, forgetSettledPlaces, seqAtTime, type ChunkPlace } from './live-timeline.js';

export interface LiveTranscriberOptions {
  engine: LiveEngine;
  /**
   * Settles once the engine is loaded (capture starts before it is): until then the audio waits
   * in the feed; a rejection ends the live path (its chunks go to `onFallback`). Default: ready now.
   */
  ready?: Promise<void>;
  engineName: string;
  segmentTime: number;
  store: TranscriptStore;
  logger: Logger;
  /** ECHOLOG_DEBUG_AUDIO_DUMP: a copy of exactly the captured audio the decoder gets. */
  dump?: DebugAudioDump;
  onText?: (line: TranscriptLine) => void;
  /** The hypothesis of the utterance being spoken, for the screen only ('' clears it). */
  onPartial?: (text: string) => void;
  onProgress?: (progress: TranscriberProgress) => void;
  /**
   * The live path stopped (the decoder died, or read nothing for STALL_MS): these chunks, and every
   * later one, are the caller's to transcribe per chunk. The decoder is closed before this is called.
   */
  onFallback?: (chunks: Chunk[]) => void;
  /** Audio held for a slow or stopped engine before new audio is dropped (seconds). */
  maxBufferedSeconds?: number;
  /** Seconds of sound without an utterance end after which silence is added to end one. */
  cutAfterSeconds?: number;
  /** dBFS below which captured audio counts as silence (transcription.silence_threshold_db). */
  silenceThresholdDb: number;
  now?: () => number;
}

/**
 * Silence in the audio long enough to end any utterance (pocketsphinx's `-vad_postspeech` is
 * 0.5 s). Finalizing on it, rather than adding a break, leaves the stream exactly the captured
 * audio: added silence shifts the decoder's noise and cepstral-mean estimates, and with them later
 * words (a per-chunk transcribe would differ).
 */
const QUIET_SECONDS = 1;
/**
 * The bound on an utterance before silence is added to end it. Long: a cut changes the words (a
 * sentence read without a 0.5 s pause runs past 8 s easily), while the stream decoder's idle marks
 * finalize tones and room tone without one, and its partials show the words meanwhile.
 */
const CUT_AFTER_SECONDS = 30;
const TICK_MS = 200;

interface PendingChunk extends ChunkPlace {
  chunk: Chunk;
}

/**
 * The live transcript: ffmpeg's raw-PCM output goes, as it is captured, into one streaming
 * decoder, and each utterance is written the moment the decoder ends it. Chunk files stay the
 * durable unit: a chunk gets its `transcribed` line once all the text of its audio is written,
 * and a chunk whose audio the live path missed (dropped for a slow or stopped engine, or the
 * engine died) is handed back by `end` to be transcribed per chunk.
 *
 * Silence reaches the decoder, which is what ends an utterance; a second of it in the audio makes
 * everything before it final, and so does the stream decoder's word that it is between
 * utterances (an idle mark, which it gives in room tone too). Where neither comes (a tone, noise,
 * speech without pauses, or the CLI decoder in a room) echolog adds a second of silence once the
 * decoder has heard `cutAfterSeconds` (30 s) without an utterance end, so every chunk is finalized live.
 * Added silence changes what the decoder hears after it, so it is the last resort: judged on what
 * the decoder has read, never on what was written to it (issue 18).
 */
export class LiveTranscriber {
  readonly feed: LiveAudioFeed;
  private readonly now: () => number;
  private readonly cutAfterSeconds: number;
  private readonly pending: PendingChunk[] = [];
  private readonly places: ChunkPlace[] = [];
  /** Utterances written whose chunks are not all settled: what each chunk contributed. */
  private readonly recentLines: TranscriptLine[] = [];
  private readonly missed: Chunk[] = [];
  /** Session seconds before which all text is in transcript.jsonl. */
  private finalized = 0;
  /** What was written to the decoder and what it has read. */
  private readonly position = new DecoderPosition();
  /**
   * A point of the stream where the decoder cannot be inside an utterance: after a second of
   * silence in the audio, or after silence echolog added (a cut). Once the decoder has read it,
   * all text before it is printed: `finalized` moves there.
   */
  private mark: { streamEnd: number; session: number; readSeen: boolean } | undefined;
  /** Session seconds where the current run of silent audio began; undefined in sound. */
  private quietSince: number | undefined;
  private cuts = 0;
  private failure: Error | undefined;
  /** Resolves when the live path fails; `closing`: the failed decoder being ended. */
  private readonly failed: Promise<void>;
  /** The engine is loaded and streaming: until then nothing is written, and no stall is judged. */
  private readonly started: Promise<void>;
  private engineReady = false;
  private signalFailed!: () => void;
  private closing: Promise<void> = Promise.resolve();
  private ending = false;
  private pumping: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticking = false;
  private dropWarned = false;
  private writing: Promise<void> = Promise.resolve();
  private reported = '';
  readonly progress: TranscriberProgress;

  constructor(private readonly options: LiveTranscriberOptions) {
    this.now = options.now ?? Date.now;
    this.failed = new Promise((resolve) => (this.signalFailed = resolve));
    this.cutAfterSeconds = options.cutAfterSeconds ?? CUT_AFTER_SECONDS;
    this.feed = new LiveAudioFeed({
      sampleRate: options.engine.audioFormat.sampleRate,
      maxBufferedSeconds: options.maxBufferedSeconds ?? 30,
    });
    this.progress = startingProgress(options.engineName, 'running');
    this.started = (options.ready ?? Promise.resolve()).then(
      () => {
        options.engine.beginLive(
          (segment) => this.onSegment(segment),
          (text) => options.onPartial?.(text),
        );
        this.engineReady = true;
      },
      (error: Error) => this.fail(error),
    );
  }

  /**
   * One ffmpeg run's live output, its first sample at session second `sessionStart` (where the
   * run's chunks begin): read always (flowing mode), whatever the engine does.
   */
  attach(stdout: Readable, sessionStart: number): void {
    this.feed.beginRun(sessionStart);
    stdout.on('data', (data: Buffer) => {
      // Still read after a failure (ffmpeg must never wait on a full pipe), but no longer kept.
      if (this.failure) return;
      this.feed.push(data, this.now());
      if (!this.dropWarned && this.feed.droppedSeconds > 0) {
        this.dropWarned = true;
        this.options.logger.warning('live_audio_dropped', {
          engine: this.options.engineName,
          at_s: roundToMs(this.feed.drops[0]!.start),
          buffered_s: roundToMs(this.feed.bufferedSeconds),
          detail: 'the engine does not keep up; the chunks it misses are transcribed per chunk at stop',
        });
      }
      this.wake?.();
    });
    // A read error ends this run's live audio; recording goes on, the chunks are filled later.
    stdout.on('error', () => undefined);
    this.pumping ??= this.pump();
    this.ticker ??= setInterval(() => void this.tick(), TICK_MS).unref();
  }

  onChunk(chunk: Chunk): void {
    const place = { seq: chunk.seq, start: chunk.offsetSeconds, end: roundToMs(chunk.offsetSeconds + chunk.durationSeconds) };
    this.places.push(place);
    this.pending.push({ ...place, chunk });
    void this.settle();
  }

  /** After a failure: the chunks whose text the live path cannot finish, handed on once. */
  private fallBack(): void {
    const unfinished = this.pending.filter((p) => p.end > this.finalized + 0.001);
    this.pending.splice(0, this.pending.length, ...this.pending.filter((p) => p.end <= this.finalized + 0.001));
    const chunks = [...this.missed.splice(0), ...unfinished.map((p) => p.chunk)];
    if (chunks.length > 0) this.options.onFallback?.(chunks);
  }

  /**
   * Capture is over: writes what is buffered and ends the stream (within `timeoutMs` in all) so the decoder
   * prints what it holds, settles every chunk. Returns the chunks whose audio was dropped (after a
   * failure, everything unfinished has gone to `onFallback` instead).
   */
  async end(timeoutMs: number): Promise<Chunk[]> {
    this.ending = true;
    this.wake?.();
    const { engine, logger, engineName } = this.options;
    // One deadline for both steps: a signalled stop gives this all the time it has.
    const deadline = performance.now() + timeoutMs;
    try {
      if (!this.failure) await withTimeout(Promise.race([this.pumping, this.failed]), timeoutMs, 'writing the buffered live audio');
      if (!this.failure) {
        const held = await withTimeout(engine.flush(), Math.max(0, deadline - performance.now()), 'flushing the engine');
        for (const segment of held) this.onSegment(segment);
        this.finalized = Infinity;
      }
    } catch (error) {
      this.fail(error as Error);
    }
    clearInterval(this.ticker);
    await this.writing;
    await this.settle();
    if (this.failure) {
      await this.closing;
      this.fallBack();
    } else {
      await engine.close().catch(() => undefined);
    }
    logger.info('live_transcription_end', {
      engine: engineName,
      captured_s: roundToMs(this.feed.capturedSeconds),
      dropped_s: this.feed.droppedSeconds,
      cuts: this.cuts,
      missed_chunks: this.missed.length,
    });
    return this.missed.splice(0);
  }

  private async pump(): Promise<void> {
    const { engine } = this.options;
    await this.started;
    while (!this.failure) {
      const block = this.feed.take();
      if (!block) {
        if (this.ending) return;
        // The decoder, catching up, may have read past the bound since the last block (tick wakes us).
        if (this.cutDue()) {
          await this.cutUtterance().catch((error: Error) => this.fail(error));
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      try {
        if (!('pcm' in block)) {
          await this.cutUtterance(block.resumesAt);
          continue;
        }
        const seconds = block.pcm.length / 2 / engine.audioFormat.sampleRate;
        await this.options.dump?.write(block.pcm);
        await engine.writeLive(block.pcm, block.sessionStart);
        this.position.wroteAudio(block.sessionStart + seconds, seconds);
        const silent = isSilent(measureLevel(block.pcm, engine.audioFormat.sampleRate), this.options.silenceThresholdDb);
        this.quietSince = silent ? (this.quietSince ?? block.sessionStart) : undefined;
        if (this.mark) continue;
        if (this.quietSince !== undefined && this.position.sessionWritten - this.quietSince >= QUIET_SECONDS) {
          this.mark = { streamEnd: this.position.streamWritten, session: this.position.sessionWritten, readSeen: false };
        } else if (this.cutDue()) {
          await this.cutUtterance();
        }
      } catch (error) {
        this.fail(error as Error);
      }
    }
  }

  /** No utterance end (nor a quiet second) for cutAfterSeconds of what the decoder has heard. */
  private cutDue(): boolean {
    return !this.mark && this.position.heardUntil() - this.finalized >= this.cutAfterSeconds;
  }

  /**
   * Adds the engine's break (stream time, no session time): the decoder ends the utterance it is in. Also
   * where capture restarted (`resumesAt`: the next run's first second): the audio on either side
   * was never adjacent, so no utterance may join them, and the last words before the restart are
   * printed now rather than once the next run has brought a pause. Nothing was captured in the
   * gap, so once the decoder has read this silence, everything before `resumesAt` is final.
   */
  private async cutUtterance(resumesAt?: number): Promise<void> {
    const at = this.position.sessionWritten;
    this.position.wroteBreak(await this.options.engine.writeBreak(at), resumesAt);
    this.options.logger.debug('live_utterance_cut', {
      at_s: roundToMs(at),
      finalized_s: roundToMs(this.finalized),
      ...(resumesAt === undefined ? {} : { resumes_at_s: roundToMs(resumesAt) }),
    });
    if (resumesAt === undefined) this.cuts++;
    else this.quietSince = undefined;
    this.mark = { streamEnd: this.position.streamWritten, session: this.position.sessionWritten, readSeen: false };
  }

  /**
   * A cut is final one tick after the decoder has read its silence (it prints within ms). A
   * decoder that reads nothing for STALL_MS while audio waits (stopped, hung) ends the live path.
   */
  private async tick(): Promise<void> {
    // A decoder still loading reads nothing yet: that is not a stall.
    if (this.ticking || !this.engineReady) return;
    this.ticking = true;
    try {
      // One look at /proc per tick serves the stall watch and the mark.
      const read = this.failure ? undefined : await this.options.engine.streamSecondsRead();
      if (!this.failure) {
        const progress = this.position.observe(read, this.now(), this.feed.bufferedSeconds === 0);
        if (progress === 'moved') this.wake?.();
        else if (progress === 'stalled') this.fail(new Error(`the decoder read no audio for ${STALL_MS / 1000} s`));
      }
      const mark = this.mark;
      if (mark && !this.failure) {
        if (mark.readSeen) {
          this.finalized = Math.max(this.finalized, mark.session);
          this.mark = undefined;
        } else if (this.position.hasRead(mark.streamEnd)) {
          mark.readSeen = true;
        }
      }
      await this.settle();
    } finally {
      this.ticking = false;
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.progress.state = 'stopped';
    this.options.logger.warning('live_transcription_stopped', {
      engine: this.options.engineName,
      reason: error.message,
      finalized_s: roundToMs(this.finalized),
      detail: 'the chunks after this point are transcribed per chunk',
    });
    this.signalFailed();
    // The utterance it was hearing will come per chunk, if at all.
    this.options.onPartial?.('');
    this.wake?.();
    // Nothing left to watch: chunks that arrive from now on are handed over by onChunk.
    clearInterval(this.ticker);
    // Ended (SIGKILL reaches a stopped process too) before the caller starts a fresh one.
    this.closing = this.options.engine.close().catch(() => undefined);
    void this.closing.then(() => this.fallBack());
  }

  private onSegment(segment: TranscriptSegment): void {
    const text = segment.text.trim();
    this.finalized = Math.max(this.finalized, segment.end);
    // An utterance ended past the mark: the mark has nothing more to say.
    if (this.mark && this.mark.session <= segment.end) this.mark = undefined;
    if (!text) return;
    const first = seqAtTime(this.places, segment.start, this.options.segmentTime);
    const last = seqAtTime(this.places, Math.max(segment.start, segment.end - 0.001), this.options.segmentTime);
    const capturedAt = this.feed.capturedAt(segment.end);
    const line: TranscriptLine = {
      seq: first,
      ...(last !== first ? { seqs: Array.from({ length: last - first + 1 }, (_, i) => first + i) } : {}),
      start: segment.start,
      end: segment.end,
      text,
      engine: this.options.engineName,
      latency_ms: capturedAt === undefined ? 0 : Math.max(0, this.now() - capturedAt),
      ...(segment.words ? { words: segment.words } : {}),
    };
    this.recentLines.push(line);
    this.progress.utterance_count++;
    this.progress.word_count += countWords(text);
    this.writing = this.writing
      .then(() => this.options.store.append([line]))
      .catch((error: Error) => {
        this.options.logger.error('transcript_write_failed', { reason: error.message });
      });
    this.options.onText?.(line);
  }

  /** Writes the chunk line of each closed chunk whose text is all written; sets aside the missed. */
  private async settle(): Promise<void> {
    const done: TranscriptLine[] = [];
    while (this.pending.length > 0 && this.pending[0]!.end <= this.finalized + 0.001) {
      const p = this.pending.shift()!;
      if (this.feed.droppedWithin(p)) {
        this.missed.push(p.chunk);
        continue;
      }
      const contribution = chunkContribution(this.recentLines, p);
      const capturedAt = this.feed.capturedAt(p.end);
      const latencyMs = capturedAt === undefined ? 0 : Math.max(0, this.now() - capturedAt);
      done.push({
        seq: p.seq,
        start: p.start,
        end: p.end,
        text: '',
        engine: this.options.engineName,
        latency_ms: latencyMs,
        chunk: 'transcribed',
      });
      this.options.logger.info('chunk_transcribed', {
        seq: p.seq,
        engine: this.options.engineName,
        mode: 'live',
        latency_ms: latencyMs,
        words: contribution.words,
        chars: contribution.chars,
        utterances: contribution.utterances,
      });
    }
    // Whatever the decoder held for the audio past `finalized` died with it.
    if (this.failure) void this.closing.then(() => this.fallBack());
    this.progress.transcribed_chunks += done.length;
    const settledTo = done.at(-1)?.end;
    if (settledTo !== undefined) {
      while (this.recentLines.length > 0 && this.recentLines[0]!.end <= settledTo) this.recentLines.shift();
      forgetSettledPlaces(this.places, settledTo);
      this.feed.forgetBefore(settledTo);
    }
    this.writing = this.writing
      .then(() => this.options.store.append(done))
      .catch((error: Error) => {
        this.options.logger.error('transcript_write_failed', { reason: error.message });
      });
    await this.writing;
    this.report();
  }

  /** Tells a change worth a session.json write: counts, or the lag moving by a second (not every tick). */
  private report(): void {
    const p = this.progress;
    const finalized = Number.isFinite(this.finalized) ? this.finalized : this.feed.capturedUntil;
    const lag = roundToMs(Math.max(0, this.feed.capturedUntil - finalized));
    const key = `${this.pending.length} ${this.missed.length} ${p.transcribed_chunks} ${p.utterance_count} ${p.state}`;
    if (key === this.reported && Math.abs(lag - p.lag_seconds) < 1) return;
    this.reported = key;
    p.pending_chunks = this.pending.length;
    p.failed_chunks = this.missed.length;
    p.lag_seconds = lag;
    this.options.onProgress?.(p);
  }
}

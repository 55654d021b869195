import type { EchologConfig } from '../config/schema.js';
import { TranscriptionError, UsageError } from '../errors.js';
import type { LogFields } from '../logging/line-format.js';
import type { Chunk } from '../recorder/chunk.js';
import type { DeferredLogLine, Logger, SessionComponent, SessionContext } from './session-component.js';
import type { LiveAudioConsumer } from '../capture/capture-outputs.js';
import { ChunkTranscriber } from './chunk-transcriber.js';
import { withTimeout } from '../with-timeout.js';
import { startingProgress, type TranscriberProgress } from '../store/session-manifest.js';
import { DebugAudioDump } from '../audio/debug-audio-dump.js';
import { isLiveEngine, type TranscriptionEngine } from './engines/engine.js';
import { LiveTranscriber } from './live/live-transcriber.js';
import { defaultEngineDeps, resolveEngine, type EngineDeps, type EngineResolution } from './engines/resolve-engine.js';
import { TranscriptStore } from './transcript/transcript-store.js';

/** The transcription part of a recording session: one component, whatever the engine. */
export function createTranscriptionComponents(
  config: EchologConfig,
  env: NodeJS.ProcessEnv,
  capture: CaptureFacts,
  deps: EngineDeps = defaultEngineDeps,
): SessionComponent[] {
  return [new TranscriptionComponent(config, env, capture, deps)];
}

export interface CaptureFacts {
  /** The capture runs at real time (RecordingPlan.realTime): the live path will take its audio. */
  realTime: boolean;
  /** The session's ffmpeg: it decodes chunks to the engine's format when they are in another. */
  ffmpegPath: string;
}

/**
 * prepare: picks the engine (an engine that is missing refuses the session when
 * `transcription.required`). start: loads it beside the capture, within `ready_timeout` (seed 001);
 * a failure is a WARNING and the session records anyway, unless `transcription.required` stops it.
 * attach/onChunk: with a streaming engine (pocketsphinx) the audio goes to it live as it is
 * captured (LiveTranscriber, which holds the audio until the engine is ready) and chunks only
 * settle; otherwise chunks wait until the engine is ready (or failed), then go into the
 * ChunkTranscriber's queue. finish: ends the live stream, transcribes per chunk what it missed,
 * drains the queue up to `drain_timeout`, writes the final transcript files and names what was left.
 */
export class TranscriptionComponent implements SessionComponent {
  readonly name = 'transcriber';
  private engine: TranscriptionEngine | undefined;
  /** The per-chunk queue's engine: `engine`, or the resolution's per-chunk one beside a live decoder. */
  private queueEngine: TranscriptionEngine | undefined;
  private engineName = 'none';
  /** Told to the user once recording starts: why there will be no live transcript. */
  private startWarning: string | undefined;
  private context: SessionContext | undefined;
  private transcriber: ChunkTranscriber | undefined;
  private live: LiveTranscriber | undefined;
  /** Chunks on their way to the per-chunk queue after the live path missed them. */
  private perChunk: Promise<void> = Promise.resolve();
  /** Of those, the ones not in the queue yet: named as untranscribed if the stop comes first. */
  private readonly handingOver = new Set<Chunk>();
  /** Set once finish() drains the queue: nothing may start an engine or enqueue after that. */
  private finishing = false;
  private store: TranscriptStore | undefined;
  private dump: DebugAudioDump | undefined;
  /** The engine prepare() chose, and its instance, loaded by start(). */
  private chosen: Extract<EngineResolution, { kind: 'engine' }> | undefined;
  private candidate: TranscriptionEngine | undefined;
  /** Settles when start() has loaded the engine (or failed to): what the live path waits for. */
  private readonly engineLoad = settleLater();
  /** Chunks that arrived while the engine was loading. */
  private waiting: Chunk[] = [];
  private loading: Promise<void> | undefined;

  constructor(
    private readonly config: EchologConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly capture: CaptureFacts,
    private readonly deps: EngineDeps = defaultEngineDeps,
  ) {}

  async prepare(): Promise<{ startFields: LogFields; deferred: DeferredLogLine[] }> {
    const t = this.config.transcription;
    const resolution = await resolveEngine(this.config, this.env, this.deps, { live: this.capture.realTime });
    const deferred: DeferredLogLine[] = [];
    if (resolution.kind === 'off') {
      if (t.required)
        throw new TranscriptionError(
          `transcription.required is set, but ${resolution.reason}${resolution.hint ? `; ${resolution.hint}` : ''}`,
        );
      this.startWarning = resolution.hint && `recording without transcription; ${resolution.hint}`;
      if (this.startWarning)
        deferred.push({ level: 'info', message: 'transcription_off', fields: { reason: resolution.reason, hint: this.startWarning } });
      return { startFields: { transcription_engine: 'none' }, deferred };
    }
    this.engineName = resolution.name;
    if (resolution.kind === 'missing') {
      if (t.required) throw new TranscriptionError(`transcription.required is set, but ${resolution.reason}`);
      if (resolution.refuse) throw new UsageError(`transcription engine ${resolution.name} cannot run: ${resolution.reason}`);
      this.startWarning = `recording without transcription: ${resolution.reason}`;
      deferred.push({
        level: 'warning',
        message: 'transcription_unavailable',
        fields: {
          engine: resolution.name,
          reason: resolution.reason,
          detail: 'recording without transcription; run `echolog transcribe` afterwards',
        },
      });
      return { startFields: { transcription_engine: resolution.name, transcription_model: '', transcription_ready: false }, deferred };
    }
    // Loaded by start(), beside the capture: recording never waits for an engine.
    this.chosen = resolution;
    this.candidate = resolution.create();
    return {
      startFields: { transcription_engine: resolution.name, transcription_model: resolution.model, ...resolution.startFields },
      deferred,
    };
  }

  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    const t = this.config.transcription;
    const context = this.context;
    const resolution = this.chosen;
    if (!context || !resolution) return;
    const logger = context.log.logger('echolog.transcriber');
    try {
      await this.loadEngine(this.candidate ?? resolution.create(), logger);
      this.queueEngine = resolution.createPerChunk?.() ?? this.engine;
      this.engineLoad.resolve();
    } catch (error) {
      const reason = (error as Error).message;
      this.engineLoad.reject(new Error(`the engine did not start: ${reason}`));
      // The live decoder did not start; the per-chunk one may: the transcript then comes per chunk.
      const perChunk = resolution.createPerChunk?.();
      if (
        perChunk &&
        (await this.loadEngine(perChunk, logger).then(
          () => true,
          () => false,
        ))
      ) {
        this.queueEngine = perChunk;
        context.notify({
          type: 'warning',
          message: `no live transcript: the live decoder did not start (${reason}); transcribing per chunk`,
        });
        return;
      }
      if (t.required) {
        // Said at its level in the log too: the session stops for it, and `sessions show` lists only WARNING/ERROR lines.
        logger.error('transcription_unavailable', {
          engine: resolution.name,
          reason,
          ready_timeout: t.ready_timeout,
          required: true,
          detail: 'transcription.required is set: the session stops',
        });
        throw new TranscriptionError(
          `transcription.required is set, but the ${resolution.name} engine failed to start within ${t.ready_timeout} s: ${reason}`,
        );
      }
      logger.warning('transcription_unavailable', {
        engine: resolution.name,
        reason,
        ready_timeout: t.ready_timeout,
        detail: 'recording without transcription; run `echolog transcribe` afterwards',
      });
      context.notify({
        type: 'warning',
        message: `recording without transcription: the ${resolution.name} engine did not start (${reason}); run \`echolog transcribe\` afterwards`,
      });
    } finally {
      this.createTranscriber(context);
    }
  }

  /** Starts `engine` within ready_timeout and makes it the session's; a failed one is closed and the error thrown. */
  private async loadEngine(engine: TranscriptionEngine, logger: Logger): Promise<void> {
    const t = this.config.transcription;
    const started = Date.now();
    try {
      await withTimeout(engine.start(), t.ready_timeout * 1000, `${engine.name} did not become ready: loading`);
    } catch (error) {
      await engine.close().catch(() => undefined);
      throw error;
    }
    this.engine = engine;
    logger.info('transcription_ready', {
      engine: engine.name,
      model: engine.model,
      ready_ms: Date.now() - started,
      ...engine.startFields?.(),
    });
  }

  attach(context: SessionContext): void {
    this.context = context;
    if (this.startWarning) context.notify({ type: 'warning', message: this.startWarning });
    if (this.engineName === 'none') return;
    // What will transcribe this session (seed 003's model), in session.json from the start.
    const model = this.chosen?.model || null;
    void context.updateManifest((manifest) => Object.assign(manifest, { engine: this.engineName, model })).catch(() => undefined);
    this.store = new TranscriptStore(context.sessionDir);
    // Made before the engine loads: the live path hands it audio from the first second.
    if (this.chosen)
      this.dump = DebugAudioDump.fromEnv(this.env, {
        sessionDir: context.sessionDir,
        sessionId: context.sessionId,
        source: 'input',
        now: context.sessionStart,
        logger: context.log.logger('echolog.transcriber'),
      });
    // A missing engine has nothing to load: its transcriber (which leaves every chunk) starts now.
    if (!this.chosen) this.createTranscriber(context);
  }

  private createTranscriber(context: SessionContext): void {
    if (!this.store) return;
    const logger = context.log.logger('echolog.transcriber');
    this.transcriber = new ChunkTranscriber({
      engine: this.queueEngine,
      engineName: this.engineName,
      config: this.config.transcription,
      ffmpegPath: this.capture.ffmpegPath,
      store: this.store,
      logger,
      dump: this.dump,
      onText: (line) => context.notify({ type: 'text', seq: line.seq, text: line.text, startSeconds: line.start }),
      onWarning: (message) => context.notify({ type: 'warning', message }),
      onProgress: () => this.saveProgress(this.progress()),
    });
    for (const chunk of this.waiting.splice(0)) this.transcriber.enqueue(chunk);
  }

  /** Asked by the session only when capture runs at real time (a device, or paced with -re). */
  liveAudio(): LiveAudioConsumer | undefined {
    const { context, store } = this;
    const engine = this.candidate;
    if (!this.config.transcription.live || !isLiveEngine(engine) || !context || !store) return undefined;
    // The capture starts at once: the live path holds the audio (bounded) until the engine is ready.
    const live = new LiveTranscriber({
      engine,
      ready: this.engineLoad.promise,
      engineName: this.engineName,
      segmentTime: this.config.recording.segment_time,
      silenceThresholdDb: this.config.transcription.silence_threshold_db,
      store,
      logger: context.log.logger('echolog.transcriber'),
      dump: this.dump,
      onText: (line) => context.notify({ type: 'text', seq: line.seq, text: line.text, startSeconds: line.start }),
      onPartial: (text) => context.notify({ type: 'partial', text }),
      onProgress: () => this.saveProgress(this.progress()),
      onFallback: (chunks) => this.transcribePerChunk(chunks),
    });
    this.live = live;
    return { sampleRate: engine.audioFormat.sampleRate, attach: (stdout, sessionStart) => live.attach(stdout, sessionStart) };
  }

  onChunk(chunk: Chunk): void {
    if (this.live) this.live.onChunk(chunk);
    else this.enqueue(chunk);
  }

  /** To the per-chunk queue, or to wait for it while the engine loads. */
  private enqueue(chunk: Chunk): void {
    if (this.transcriber) this.transcriber.enqueue(chunk);
    else if (this.store) this.waiting.push(chunk);
  }

  async finish(budgetMs?: number): Promise<LogFields> {
    // A signalled stop has budgetMs in all; a normal end waits up to drain_timeout.
    const drainMs = Math.min(this.config.transcription.drain_timeout * 1000, budgetMs ?? Infinity);
    const started = performance.now();
    const left = (): number => Math.max(0, drainMs - (performance.now() - started));
    // An engine still loading gets the rest of its ready_timeout: the chunks waiting for it then go to it.
    if (this.loading) await withTimeout(this.loading, left(), 'loading').catch(() => undefined);
    const transcriber = this.transcriber;
    const context = this.context;
    if (!transcriber || !context || !this.store) {
      // Never attached (the session failed to start) or not transcribing: no engine outlives it.
      await this.engine?.close().catch(() => undefined);
      return {};
    }
    // Without a budget each step gets at least 2 s, though an earlier one used the drain.
    const stepMs = (): number => (budgetMs === undefined ? Math.max(left(), 2000) : left());
    if (this.live) this.transcribePerChunk(await this.live.end(stepMs()));
    await withTimeout(this.perChunk, stepMs(), 'restarting the engine').catch(() => undefined);
    // A hand-over still starting its engine is too late: its chunks are left for `echolog transcribe`.
    this.finishing = true;
    const unsent = [
      ...new Set([...(await transcriber.drain(stepMs(), budgetMs === undefined ? 2000 : 0)), ...[...this.handingOver].map((c) => c.seq)]),
    ].sort((a, b) => a - b);
    await this.dump?.close();
    const progress = this.progress();
    const duration = context.manifest().stats.audio_duration_seconds;
    await this.store.writeFinal({ sessionId: context.sessionId, language: this.config.transcription.language, duration });
    await this.saveProgress(progress);
    if (unsent.length > 0) {
      context.notify({
        type: 'warning',
        message:
          `${unsent.length} chunk${unsent.length === 1 ? '' : 's'} not transcribed (seq ${formatSeqs(unsent)}); ` +
          `run \`echolog transcribe ${context.sessionId}\``,
      });
    }
    return {
      transcribed_chunks: progress.transcribed_chunks,
      silent_chunks: progress.silent_chunks,
      untranscribed_chunks: unsent.length,
      untranscribed_seqs: unsent.length > 0 ? formatSeqs(unsent) : undefined,
      utterances: progress.utterance_count,
      words: progress.word_count,
    };
  }

  /**
   * What the live path missed (dropped audio, a dead or stopped decoder), in order, to the
   * per-chunk queue with a fresh decoder (start() on a running one does nothing).
   */
  private transcribePerChunk(chunks: Chunk[]): void {
    if (chunks.length === 0) return;
    const engine = this.queueEngine;
    for (const chunk of chunks) this.handingOver.add(chunk);
    this.perChunk = this.perChunk.then(async () => {
      // A failed start is retried with backoff by the queue, as for any chunk; with no engine at all
      // the queue leaves them for `echolog transcribe`.
      if (engine && !this.finishing)
        await withTimeout(engine.start(), this.config.transcription.ready_timeout * 1000, 'restarting the engine').catch(() => undefined);
      // The stop drained the queue and closed the engine meanwhile: a decoder started now would
      // outlive the session (and keep echolog running), so it is closed and nothing is enqueued.
      if (this.finishing) {
        await engine?.close().catch(() => undefined);
        return;
      }
      for (const chunk of chunks) {
        this.handingOver.delete(chunk);
        this.enqueue(chunk);
      }
    });
  }

  /** The live path's figures plus the per-chunk queue's (which fills what live missed). */
  private progress(): TranscriberProgress {
    const live = this.live?.progress;
    const queue = this.transcriber?.progress;
    if (!queue) return live ?? startingProgress(this.engineName, 'running');
    if (!live) return queue;
    return {
      ...queue,
      state: queue.state === 'stopped' ? 'stopped' : live.state,
      transcribed_chunks: live.transcribed_chunks + queue.transcribed_chunks,
      silent_chunks: queue.silent_chunks,
      failed_chunks: queue.failed_chunks,
      pending_chunks: live.pending_chunks + queue.pending_chunks,
      lag_seconds: Math.max(live.lag_seconds, queue.lag_seconds),
      utterance_count: live.utterance_count + queue.utterance_count,
      word_count: live.word_count + queue.word_count,
    };
  }

  private saveProgress(progress: TranscriberProgress): Promise<void> {
    if (!this.context) return Promise.resolve();
    return this.context
      .updateManifest((manifest) => {
        manifest.stats.utterance_count = progress.utterance_count;
        manifest.stats.word_count = progress.word_count;
        manifest.transcription = { ...progress, model: this.engine?.model ?? '' };
      })
      .catch(() => undefined);
  }
}

/** A promise and the functions that settle it (Promise.withResolvers, which Node 20 lacks). */
function settleLater(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting (no live path): a failed load is reported where it happens.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** `1-3,5,7-8`: a compact list of chunk seqs for a log field. Pure. */
export function formatSeqs(seqs: readonly number[]): string {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(start === sorted[i] ? String(start) : `${start}-${sorted[i]}`);
  }
  return parts.join(',');
}

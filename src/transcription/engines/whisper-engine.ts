import os from 'node:os';
import { homeDirectory } from '../../files/paths.js';
import { howExited } from '../../process/describe-exit.js';
import { Worker } from 'node:worker_threads';
import type { EchologConfig } from '../../config/schema.js';
import { resolveBuiltScript } from '../../process/built-script.js';
import { TranscriptionError } from '../../errors.js';
import { checkGgmlModelFile } from '../../models/ggml-file.js';
import { locateModel, type ModelLocationOptions } from '../../models/model-cache.js';
import type { EngineAudioFormat, EngineChunk, TranscriptionEngine, TranscriptSegment } from './engine.js';
import type { RawSegment, WhisperWorkerData, WorkerReply } from './whisper-worker.js';
import { roundToMs } from '../../round-seconds.js';

/**
 * whisper.cpp in-process through @napi-rs/whisper (an optional peer the user adds, with prebuilt binaries
 * for linux-x64-gnu, darwin-x64 and darwin-arm64). Its inference call blocks its thread, so it
 * runs in a worker thread (whisper-worker.ts) and the recording path never waits on it.
 */
export const WHISPER_BINDING = '@napi-rs/whisper';
export const WHISPER_SAMPLE_RATE = 16000;
/** The most audio whisper is given at once: its own context length. */
export const WHISPER_WINDOW_SECONDS = 30;

export interface WhisperEngineOptions {
  modelPath: string;
  /** Shown in session_start: the model name or the path the user gave. */
  model: string;
  /** `en`, `de`, … or `auto`. English-only (`.en`) models are always run with `en`. */
  language: string;
  /** Inference threads; default: the available cores, at most 4. */
  threads?: number;
  /** The compiled worker script; default: whisper-worker.js next to this module (see resolveBuiltScript). */
  workerScript?: URL;
}

interface Pending {
  resolve: (reply: Extract<WorkerReply, { type: 'result' }>) => void;
  reject: (error: Error) => void;
}

export class WhisperEngine implements TranscriptionEngine, AsyncDisposable {
  readonly name = 'whisper';
  readonly model: string;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WhisperEngineOptions) {
    this.model = options.model;
  }

  /** Loads the model in a fresh worker; a missing or corrupt model file rejects with a TranscriptionError naming it. */
  async start(): Promise<void> {
    // A start after close() reopens the engine: ChunkTranscriber retries a chunk by close, back off, start.
    this.closed = false;
    if (this.worker) return;
    await checkModelFile(this.options.modelPath);
    const worker = new Worker(this.options.workerScript ?? resolveBuiltScript(import.meta.url, 'whisper-worker.js', 'the whisper worker'), {
      workerData: {
        bindingSpecifier: WHISPER_BINDING,
        modelPath: this.options.modelPath,
        language: effectiveLanguage(this.options.modelPath, this.options.language),
        threads: this.options.threads ?? defaultThreads(),
      } satisfies WhisperWorkerData,
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        if (reply.type === 'ready') {
          cleanup();
          resolve();
        } else if (reply.type === 'failed') {
          cleanup();
          void worker.terminate();
          reject(
            reply.stage === 'binding'
              ? bindingMissingError(reply.message)
              : new TranscriptionError(
                  `whisper could not load the model file ${this.options.modelPath}: it is not a valid whisper.cpp ggml model ` +
                    `(corrupt or incomplete download?) (${reply.message})`,
                ),
          );
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new TranscriptionError(`the whisper worker failed while loading ${this.options.modelPath}: ${error.message}`));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new TranscriptionError(`the whisper worker ${howExited({ code, signal: null })} while loading ${this.options.modelPath}`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    this.attach(worker);
  }

  get audioFormat(): EngineAudioFormat {
    return { sampleRate: WHISPER_SAMPLE_RATE };
  }

  /**
   * whisper takes float32 samples held whole, so a chunk goes to it in windows of at most
   * WHISPER_WINDOW_SECONDS (whisper's own 30 s context): memory stays at one window whatever the
   * chunk's length, and a stop is honoured between windows. A 10 s chunk is one window.
   */
  async transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]> {
    if (this.closed) throw new TranscriptionError('the whisper engine is closed');
    // A worker that died (native crash, out of memory) is replaced: the caller retries the chunk.
    if (!this.worker) await this.start();
    const segments: TranscriptSegment[] = [];
    const window = new Float32Array(WHISPER_WINDOW_SECONDS * WHISPER_SAMPLE_RATE);
    let filled = 0;
    let windowStart = 0;
    const infer = async (): Promise<void> => {
      const seconds = filled / WHISPER_SAMPLE_RATE;
      if (filled > 0)
        segments.push(
          ...(await this.infer(window.slice(0, filled), { offsetSeconds: chunk.offsetSeconds + windowStart, durationSeconds: seconds })),
        );
      windowStart += seconds;
      filled = 0;
    };
    for await (const piece of chunk.audio()) {
      const samples = s16leToFloat32(piece);
      for (let at = 0; at < samples.length;) {
        const take = Math.min(samples.length - at, window.length - filled);
        window.set(samples.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === window.length) await infer();
      }
    }
    await infer();
    return segments;
  }

  /** One window of samples through the worker; segments placed at the window's session time. */
  private async infer(samples: Float32Array, place: Pick<EngineChunk, 'offsetSeconds' | 'durationSeconds'>): Promise<TranscriptSegment[]> {
    if (this.closed) throw new TranscriptionError('the whisper engine was closed before the chunk was transcribed');
    if (!this.worker) await this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    const reply = await new Promise<Extract<WorkerReply, { type: 'result' }>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'transcribe', id, samples }, [samples.buffer as ArrayBuffer]);
    });
    return placeSegments(reply.segments, reply.text, place);
  }

  /** whisper transcribes each chunk whole: nothing is held back. */
  async flush(): Promise<TranscriptSegment[]> {
    return [];
  }

  /** Stops the worker. A call still inside whisper.cpp cannot be interrupted; its result is dropped. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failPending(new TranscriptionError('the whisper engine was closed before the chunk was transcribed'));
    if (worker) await worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (reply.type === 'result') pending.resolve(reply);
      else pending.reject(new TranscriptionError(`whisper failed on a chunk: ${reply.message}`));
    });
    const lost = (why: string): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failPending(new TranscriptionError(`the whisper worker ${why}`));
    };
    worker.on('error', (error) => lost(`failed: ${error.message}`));
    worker.on('exit', (code) => lost(howExited({ code, signal: null })));
  }

  private failPending(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** English-only models ignore the language setting: they can only do English. */
export function effectiveLanguage(modelPath: string, language: string): string {
  return /\.en(?:[-_.][\w.-]*)?\.bin$/.test(modelPath) ? 'en' : language;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/** Fails fast, with the file's name, on a missing or damaged model file, before whisper.cpp reads it (see ggml-file.ts). */
async function checkModelFile(modelPath: string): Promise<void> {
  let result: Awaited<ReturnType<typeof checkGgmlModelFile>>;
  try {
    result = await checkGgmlModelFile(modelPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TranscriptionError(
      code === 'ENOENT'
        ? `whisper model file not found: ${modelPath}`
        : `cannot read the whisper model file ${modelPath}: ${(error as Error).message}`,
    );
  }
  if ('problem' in result) {
    throw new TranscriptionError(
      `whisper could not load the model file ${modelPath}: ${result.problem}; it is not a valid whisper.cpp ggml model (corrupt or incomplete download?)`,
    );
  }
}

function bindingMissingError(detail: string): TranscriptionError {
  return new TranscriptionError(
    `the whisper engine needs the optional package ${WHISPER_BINDING}, which is not installed for ${process.platform}-${process.arch} ` +
      `(prebuilt for linux-x64 glibc, macOS x64 and arm64): add it with \`npm install ${WHISPER_BINDING}\` in echolog's folder, ` +
      `or use --engine pocketsphinx (${firstLine(detail)})`,
  );
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** s16le PCM (whole samples) as whisper takes it: float32 in [-1, 1). Pure. */
export function s16leToFloat32(pcm: Buffer): Float32Array {
  const samples = new Float32Array(Math.floor(pcm.length / 2));
  for (let i = 0; i < samples.length; i += 1) samples[i] = pcm.readInt16LE(i * 2) / 32768;
  return samples;
}

/**
 * Session-relative segments: whisper's centisecond times plus the chunk's offset, clamped to
 * the chunk. Empty texts are dropped; text with no segment (should not happen) spans the chunk.
 */
export function placeSegments(
  raw: readonly RawSegment[],
  text: string,
  chunk: Pick<EngineChunk, 'offsetSeconds' | 'durationSeconds'>,
): TranscriptSegment[] {
  const chunkEnd = chunk.offsetSeconds + chunk.durationSeconds;
  const clamp = (seconds: number): number => roundToMs(Math.min(chunkEnd, Math.max(chunk.offsetSeconds, seconds)));
  const segments = raw
    .map((s) => ({ start: clamp(chunk.offsetSeconds + s.start / 100), end: clamp(chunk.offsetSeconds + s.end / 100), text: s.text.trim() }))
    .filter((s) => s.text.length > 0);
  if (segments.length === 0 && text.trim().length > 0) {
    return [{ start: roundToMs(chunk.offsetSeconds), end: roundToMs(chunkEnd), text: text.trim() }];
  }
  return segments;
}

export interface WhisperAvailability {
  available: boolean;
  /** The model file that would be used (also set when it is missing, to say where it was looked for). */
  modelPath?: string;
  /** Why whisper cannot be used, in words a user can act on. */
  reason?: string;
}

/**
 * For the engine selector (`auto`): whisper is usable when its model file is there (in the
 * cache for a name, or at the path `transcription.model` gives) and the binding loads on this
 * platform. Does not load the model: a corrupt file is found by start().
 */
export async function whisperAvailability(
  config: EchologConfig,
  env: NodeJS.ProcessEnv,
  where: Partial<Pick<ModelLocationOptions, 'home' | 'cwd'>> = {},
): Promise<WhisperAvailability> {
  const location = locateModel(config.transcription.model, {
    env,
    home: where.home ?? homeDirectory(env),
    cwd: where.cwd ?? process.cwd(),
  });
  if (!location.exists) {
    const how = location.kind === 'name' ? `; download it with \`echolog models pull ${location.spec}\`` : '';
    return { available: false, modelPath: location.path, reason: `whisper model ${location.spec} not found at ${location.path}${how}` };
  }
  const binding = await loadWhisperBinding();
  if (!binding.ok) return { available: false, modelPath: location.path, reason: bindingMissingError(binding.message).message };
  return { available: true, modelPath: location.path };
}

let bindingProbe: Promise<{ ok: true } | { ok: false; message: string }> | undefined;

/** Whether the optional binding loads here (cached: a native module loads once per process). */
export function loadWhisperBinding(): Promise<{ ok: true } | { ok: false; message: string }> {
  bindingProbe ??= import(WHISPER_BINDING).then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, message: (error as Error).message }),
  );
  return bindingProbe;
}

/** For resolve-engine.ts: the engine for the configured model; start() reports a missing or corrupt file. */
export function createWhisperEngine(config: EchologConfig, env: NodeJS.ProcessEnv): WhisperEngine {
  const location = locateModel(config.transcription.model, { env, home: homeDirectory(env), cwd: process.cwd() });
  return new WhisperEngine({ modelPath: location.path, model: config.transcription.model, language: config.transcription.language });
}

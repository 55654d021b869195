import { parentPort, workerData } from 'node:worker_threads';

/**
 * The whisper worker thread. @napi-rs/whisper's `full()` blocks its thread for the whole
 * inference, so it runs here and never on echolog's main thread (chunk detection, logging).
 *
 * Protocol (see whisper-engine.ts): workerData {bindingSpecifier, modelPath, language, threads};
 * the worker posts `ready` or `failed` once, then answers every `transcribe` with `result` or `error`.
 *
 * No binding callbacks that cross threads are used while `full()` runs except onNewSegment,
 * whose calls are queued and only delivered after `full()` returns. Its `setupLogger` is not
 * used: with a blocking call it deadlocks (measured with 0.0.4), and its default logger is silent.
 */
export interface WhisperWorkerData {
  bindingSpecifier: string;
  modelPath: string;
  language: string;
  threads: number;
}

/** whisper.cpp segment times are in centiseconds (units of 10 ms). */
export interface RawSegment {
  start: number;
  end: number;
  text: string;
}

export type WorkerRequest = { type: 'transcribe'; id: number; samples: Float32Array };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; stage: 'binding' | 'load'; message: string }
  | { type: 'result'; id: number; text: string; segments: RawSegment[]; computeMs: number }
  | { type: 'error'; id: number; message: string };

interface BindingParams {
  language: string;
  detectLanguage: boolean;
  nThreads: number;
  printProgress: boolean;
  printRealtime: boolean;
  printTimestamps: boolean;
  printSpecial: boolean;
  noContext: boolean;
  onNewSegment: (segment: RawSegment) => void;
}

interface BindingModule {
  Whisper: new (model: string, params?: { useGpu?: boolean }) => { full(params: BindingParams, samples: Float32Array): string };
  WhisperFullParams: new (strategy: number) => BindingParams;
  WhisperSamplingStrategy: { Greedy: number };
}

const port = parentPort;
if (!port) throw new Error('whisper-worker.ts must run in a worker thread');
const data = workerData as WhisperWorkerData;
const post = (reply: WorkerReply): void => port.postMessage(reply);

let binding: BindingModule;
try {
  binding = (await import(data.bindingSpecifier)) as BindingModule;
} catch (error) {
  post({ type: 'failed', stage: 'binding', message: (error as Error).message });
  process.exit(0);
}

let whisper: InstanceType<BindingModule['Whisper']>;
try {
  whisper = new binding.Whisper(data.modelPath, { useGpu: false });
} catch (error) {
  post({ type: 'failed', stage: 'load', message: (error as Error).message });
  process.exit(0);
}

const params = new binding.WhisperFullParams(binding.WhisperSamplingStrategy.Greedy);
params.language = data.language === 'auto' ? 'auto' : data.language;
params.detectLanguage = false;
params.nThreads = data.threads;
params.printProgress = false;
params.printRealtime = false;
params.printTimestamps = false;
params.printSpecial = false;
// Chunks are transcribed independently: carrying the previous chunk's text as a prompt makes
// whisper repeat itself across chunk boundaries.
params.noContext = true;
let collected: RawSegment[] = [];
params.onNewSegment = (segment) => collected.push({ start: segment.start, end: segment.end, text: segment.text });

post({ type: 'ready' });

port.on('message', (request: WorkerRequest) => {
  if (request.type !== 'transcribe') return;
  void transcribe(request);
});

let busy: Promise<void> = Promise.resolve();

function transcribe(request: Extract<WorkerRequest, { type: 'transcribe' }>): Promise<void> {
  busy = busy.then(async () => {
    collected = [];
    const started = performance.now();
    let text: string;
    try {
      text = whisper.full(params, request.samples);
    } catch (error) {
      post({ type: 'error', id: request.id, message: (error as Error).message });
      return;
    }
    const computeMs = performance.now() - started;
    const segments = await segmentsFor(text);
    post({ type: 'result', id: request.id, text, segments, computeMs });
  });
  return busy;
}

/**
 * The segment callbacks were queued while `full()` blocked this thread; they run once it yields.
 * Wait until their text adds up to what `full()` returned (bounded), so no segment is lost.
 */
async function segmentsFor(text: string): Promise<RawSegment[]> {
  const want = squash(text);
  for (let i = 0; i < 50 && squash(collected.map((s) => s.text).join('')) !== want; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, i < 5 ? 0 : 10));
  }
  return collected;
}

function squash(text: string): string {
  return text.replace(/\s+/g, '');
}

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { TranscriptionError } from '../src/errors.js';
import { parseWavHeader } from '../src/recorder/wav-header.js';
import type { EngineChunk } from '../src/transcription/engines/engine.js';
import { tensorRecord } from './helpers/ggml.js';
import { engineChunkOf } from './helpers/engine-chunk.js';
import { engineAudioPieces } from '../src/audio/engine-audio.js';
import { loadWhisperBinding, whisperAvailability, WhisperEngine } from '../src/transcription/engines/whisper-engine.js';

/**
 * whisper plumbing with whisper.cpp's weightless test model (test/fixtures/models/SOURCE.md): it
 * loads and runs but recognises nothing, so these tests assert on loading, errors, shapes and
 * times, never on words or speed. The engine runs the built worker (dist/): build first.
 */
const TEST_MODEL = fileURLToPath(new URL('./fixtures/models/for-tests-ggml-tiny.en.bin', import.meta.url));
const binding = await loadWhisperBinding();
const skipReason = binding.ok
  ? ''
  : `the optional binding @napi-rs/whisper does not load on ${process.platform}-${process.arch}: ${binding.message}`;
if (skipReason) console.warn(`whisper engine tests skipped: ${skipReason}`);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-whisper-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A real chunk as ffmpeg writes one: 16 kHz mono s16le WAV (a tone; the test model cannot recognise speech anyway). */
function makeChunk(seq: number, offsetSeconds: number, seconds: number, rate = 16000, channels = 1): EngineChunk {
  const file = path.join(tmp, `chunk_${seq}.wav`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-ar',
    String(rate),
    '-ac',
    String(channels),
    '-c:a',
    'pcm_s16le',
    file,
  ]);
  const wav = parseWavHeader(fs.readFileSync(file));
  // As the transcriber hands it over: ffmpeg's 16 kHz mono decode of the chunk, in bounded pieces.
  return {
    seq,
    path: file,
    offsetSeconds,
    durationSeconds: seconds,
    audio: () => engineAudioPieces(file, wav, { sampleRate: 16000 }, 'ffmpeg'),
  };
}

describe.skipIf(Boolean(skipReason))('whisper engine with the test model', () => {
  it('loads the model, transcribes a real chunk in a worker without blocking the main thread, and closes', async () => {
    await using engine = new WhisperEngine({ modelPath: TEST_MODEL, model: 'for-tests-ggml-tiny.en', language: 'en', threads: 2 });
    expect(engine.name).toBe('whisper');
    await engine.start();

    const chunk = makeChunk(3, 20, 2, 48000, 2);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const segments = await engine.transcribe(chunk).finally(() => clearInterval(ticker));

    expect(Array.isArray(segments)).toBe(true);
    for (const segment of segments) {
      expect(segment.start).toBeGreaterThanOrEqual(20);
      expect(segment.end).toBeLessThanOrEqual(22);
      expect(typeof segment.text).toBe('string');
    }
    // The inference took seconds; the main thread kept running timers meanwhile.
    expect(ticks).toBeGreaterThan(10);
    expect(await engine.flush()).toEqual([]);
  });

  it('a corrupt model file (random bytes) is a TranscriptionError naming the file', async () => {
    const corrupt = path.join(tmp, 'ggml-corrupt.bin');
    fs.writeFileSync(corrupt, randomBytes(600_000));
    const engine = new WhisperEngine({ modelPath: corrupt, model: corrupt, language: 'en' });
    const error = await engine.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptionError);
    expect((error as Error).message).toContain(`whisper could not load the model file ${corrupt}`);
    await engine.close();
  });

  it('a file with the ggml magic but a garbage header is refused before whisper.cpp sees it (it would abort the process)', async () => {
    const corrupt = path.join(tmp, 'ggml-magic-only.bin');
    fs.writeFileSync(corrupt, Buffer.concat([Buffer.from('lmgg'), randomBytes(4096)]));
    const error = await new WhisperEngine({ modelPath: corrupt, model: corrupt, language: 'en' }).start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptionError);
    expect((error as Error).message).toContain(corrupt);
  });

  it('a valid header with a broken vocabulary is refused before whisper.cpp sees it (it would abort the process)', async () => {
    const broken = path.join(tmp, 'ggml-broken.bin');
    const good = fs.readFileSync(TEST_MODEL);
    fs.writeFileSync(broken, Buffer.concat([good.subarray(0, 48), randomBytes(4096).fill(0xff)]));
    const error = await new WhisperEngine({ modelPath: broken, model: broken, language: 'en' }).start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptionError);
    expect((error as Error).message).toContain(`whisper could not load the model file ${broken}`);
  });

  it('a well-formed but incomplete model fails inside whisper.cpp and is reported as a TranscriptionError', async () => {
    const incomplete = path.join(tmp, 'ggml-incomplete.bin');
    const tensor = tensorRecord('decoder.positional_embedding', [384, 448], 0, 384 * 448 * 4);
    fs.writeFileSync(incomplete, Buffer.concat([fs.readFileSync(TEST_MODEL), tensor]));
    const error = await new WhisperEngine({ modelPath: incomplete, model: incomplete, language: 'en' }).start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptionError);
    expect((error as Error).message).toMatch(
      new RegExp(`^whisper could not load the model file ${incomplete}: .*Failed to initialize Whisper model`),
    );
  });

  it('a missing model file is a TranscriptionError naming it', async () => {
    const missing = path.join(tmp, 'nope.bin');
    const error = await new WhisperEngine({ modelPath: missing, model: 'nope', language: 'en' }).start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptionError);
    expect((error as Error).message).toBe(`whisper model file not found: ${missing}`);
  });

  it('whisperAvailability: available with a model path that exists; not with a name that is not downloaded', async () => {
    const withPath = { ...DEFAULT_CONFIG, transcription: { ...DEFAULT_CONFIG.transcription, model: TEST_MODEL } };
    expect(await whisperAvailability(withPath, {})).toEqual({ available: true, modelPath: TEST_MODEL });

    const env = { XDG_CACHE_HOME: path.join(tmp, 'cache') };
    const missing = await whisperAvailability(DEFAULT_CONFIG, env, { home: tmp, cwd: tmp });
    expect(missing.available).toBe(false);
    expect(missing.modelPath).toBe(path.join(tmp, 'cache', 'echolog', 'models', 'ggml-tiny.en.bin'));
    expect(missing.reason).toContain('echolog models pull tiny.en');
  });
});

describe('whisper engine without the binding', () => {
  it.runIf(Boolean(skipReason))('says which package is missing', async () => {
    const result = await whisperAvailability(
      { ...DEFAULT_CONFIG, transcription: { ...DEFAULT_CONFIG.transcription, model: TEST_MODEL } },
      {},
    );
    expect(result.available).toBe(false);
    expect(result.reason).toContain('@napi-rs/whisper');
  });
});

describe('whisper engine worker failures (a stand-in worker, no binding needed)', () => {
  it('a worker that dies mid-chunk rejects that chunk; the next call starts a fresh worker', async () => {
    // Dies on its first chunk, answers on later ones: the flag file survives the worker.
    const flag = path.join(tmp, 'crashed-once');
    const script = path.join(tmp, 'fake-worker.mjs');
    fs.writeFileSync(
      script,
      `import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => {
  if (!fs.existsSync(${JSON.stringify(flag)})) { fs.writeFileSync(${JSON.stringify(flag)}, ''); process.exit(3); }
  parentPort.postMessage({ type: 'result', id: m.id, text: ' hi', segments: [{ start: 50, end: 120, text: ' hi' }], computeMs: 1 });
});
`,
    );
    await using engine = new WhisperEngine({
      modelPath: TEST_MODEL,
      model: 'test',
      language: 'en',
      workerScript: new URL(`file://${script}`),
    });
    await engine.start();
    const chunk: EngineChunk = engineChunkOf(1, 10, Buffer.alloc(5 * 32000), { path: 'x.wav' });

    const first = await engine.transcribe(chunk).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TranscriptionError);
    expect((first as Error).message).toBe('the whisper worker exited with code 3');

    expect(await engine.transcribe(chunk)).toEqual([{ start: 10.5, end: 11.2, text: 'hi' }]);
    await engine.close();
    await expect(engine.transcribe(chunk)).rejects.toThrow('the whisper engine is closed');
    // start() after close() reopens it: how ChunkTranscriber retries a chunk (close, back off, start).
    await engine.start();
    expect(await engine.transcribe(chunk)).toEqual([{ start: 10.5, end: 11.2, text: 'hi' }]);
  });

  it("a chunk longer than whisper's 30 s goes to it in windows of at most 30 s, each placed at its own session time", async () => {
    // Answers every window with one segment from 1 s to 2 s, and says how many samples it got.
    const script = path.join(tmp, 'window-worker.mjs');
    fs.writeFileSync(
      script,
      `import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => parentPort.postMessage({ type: 'result', id: m.id, text: String(m.samples.length), segments: [{ start: 100, end: 200, text: String(m.samples.length) }], computeMs: 1 }));
`,
    );
    await using engine = new WhisperEngine({
      modelPath: TEST_MODEL,
      model: 'test',
      language: 'en',
      workerScript: new URL(`file://${script}`),
    });
    await engine.start();
    // 70 s of 16 kHz mono: windows of 30, 30 and 10 s.
    const segments = await engine.transcribe(engineChunkOf(1, 100, Buffer.alloc(70 * 32000)));
    expect(segments).toEqual([
      { start: 101, end: 102, text: '480000' },
      { start: 131, end: 132, text: '480000' },
      { start: 161, end: 162, text: '160000' },
    ]);
  });
});

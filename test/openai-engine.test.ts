import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type EchologConfig } from '../src/config/schema.js';
import type { Chunk } from '../src/recorder/chunk.js';
import { engineAudioPieces } from '../src/audio/engine-audio.js';
import { parseWavHeader } from '../src/recorder/wav-header.js';
import { SharedBusyTime } from '../src/transcription/busy-time.js';
import { ChunkTranscriber } from '../src/transcription/chunk-transcriber.js';
import { OpenAiRequestError } from '../src/transcription/engines/openai-client.js';
import { OpenAiEngine } from '../src/transcription/engines/openai-engine.js';
import type { EngineChunk } from '../src/transcription/engines/engine.js';
import {
  errorMessage,
  MAX_RETRY_AFTER_MS,
  parseTranscription,
  promptTail,
  retryAfterMs,
} from '../src/transcription/engines/openai-response.js';
import { displayUrl, openAiSettings, openAiSettingsProblem, type OpenAiSettings } from '../src/transcription/engines/openai-settings.js';
import { TranscriptStore } from '../src/transcription/transcript/transcript-store.js';
import { recordingLogger } from './helpers/logger.js';
import { refusedPort, startOpenAiServer, type OpenAiServer, type OpenAiServerOptions } from './helpers/openai-server.js';

const SPEECH = fileURLToPath(new URL('./fixtures/speech/sense_and_sensibility_01_austen_64kb-0870.wav', import.meta.url));
const KEY = 'sk-test-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-openai-engine-'));
// The engine's temp files go to os.tmpdir(): a private one shows that each is removed.
const privateTmp = path.join(tmp, 'tmpdir');
const servers: OpenAiServer[] = [];
let savedTmpdir: string | undefined;

beforeAll(() => {
  fs.mkdirSync(privateTmp);
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function server(options: OpenAiServerOptions = {}): Promise<OpenAiServer> {
  const s = await startOpenAiServer({
    apiKey: KEY,
    transcribe: async (_file, upload) => `words of ${upload.durationSeconds} seconds`,
    ...options,
  });
  servers.push(s);
  return s;
}

function settings(baseUrl: string, over: Partial<OpenAiSettings> = {}): OpenAiSettings {
  return {
    baseUrl,
    model: 'whisper-1',
    language: 'en',
    apiKey: KEY,
    apiKeyEnv: 'OPENAI_API_KEY',
    concurrency: 2,
    timeoutMs: 5000,
    ...over,
  };
}

function engineFor(baseUrl: string, over: Partial<OpenAiSettings> = {}): OpenAiEngine {
  return new OpenAiEngine({ settings: settings(baseUrl, over) });
}

let made = 0;
/** A chunk cut from the recorded speech by ffmpeg: `seconds` long from `from`, at the given format. */
function speechChunk(seq: number, offsetSeconds: number, seconds: number, format = { rate: 16000, channels: 1 }): Chunk {
  const file = path.join(tmp, `chunk_${++made}.wav`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-ss',
    String(offsetSeconds % 5),
    '-t',
    String(seconds),
    '-i',
    SPEECH,
    '-ar',
    String(format.rate),
    '-ac',
    String(format.channels),
    '-c:a',
    'pcm_s16le',
    file,
  ]);
  const wav = parseWavHeader(fs.readFileSync(file).subarray(0, 4096));
  const start = new Date(Date.UTC(2026, 0, 1) + offsetSeconds * 1000);
  return {
    seq,
    file: path.basename(file),
    path: file,
    sizeBytes: fs.statSync(file).size,
    durationSeconds: seconds,
    offsetSeconds,
    startTime: start,
    endTime: new Date(start.getTime() + seconds * 1000),
    wav,
  };
}

// As the queue gives it: the chunk's pieces in the engine's format, read or decoded by the real ffmpeg.
const engineChunk = (c: Chunk, audio = () => engineAudioPieces(c.path, c.wav, { sampleRate: 16000 }, 'ffmpeg')): EngineChunk => ({
  seq: c.seq,
  path: c.path,
  offsetSeconds: c.offsetSeconds,
  durationSeconds: c.durationSeconds,
  audio,
});
const engineTemps = () => fs.readdirSync(privateTmp).filter((name) => /^echolog-openai-(?!server)/.test(name));

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (error: unknown) => error as OpenAiRequestError,
  );

describe('openai response parsing (pure)', () => {
  const span = { offsetSeconds: 20, durationSeconds: 10 };

  it('verbose_json: a segment per utterance in session time, words from the top level or the segment, clamped into the chunk', () => {
    const body = JSON.stringify({
      text: 'hello there. again',
      segments: [
        { start: 0.5, end: 2.25, text: ' hello there.' },
        { start: 3, end: 12, text: ' again', words: [{ word: ' again', start: 3, end: 11.5 }] },
        { start: 5, end: 6, text: '  ' },
      ],
      words: [
        { word: 'hello', start: 0.5, end: 1 },
        { word: 'there.', start: 1.1, end: 2.25 },
      ],
    });
    expect(parseTranscription(body, 'application/json', span)).toEqual([
      {
        start: 20.5,
        end: 22.25,
        text: 'hello there.',
        words: [
          { start: 20.5, end: 21, word: 'hello' },
          { start: 21.1, end: 22.25, word: 'there.' },
        ],
      },
      { start: 23, end: 30, text: 'again', words: [{ start: 23, end: 30, word: 'again' }] },
    ]);
  });

  it('whisper.cpp\'s verbose_json: a segment cut mid-word and token "words" are joined back into words', () => {
    // As whisper.cpp's examples/server/server.cpp answers: segments cut at 60 characters on a token boundary.
    const body = JSON.stringify({
      text: ' and mister john dash\nwood had then. Again\n',
      segments: [
        {
          id: 0,
          text: ' and mister john dash',
          start: 0,
          end: 2,
          words: [
            { word: ' and', start: 0, end: 0.5 },
            { word: ' mister', start: 0.5, end: 1 },
            { word: ' john', start: 1, end: 1.5 },
            { word: ' dash', start: 1.5, end: 2 },
          ],
        },
        {
          id: 1,
          text: 'wood had then.',
          start: 2,
          end: 4,
          words: [
            { word: 'wood', start: 2, end: 2.5 },
            { word: ' had', start: 2.5, end: 3 },
            { word: ' th', start: 3, end: 3.4 },
            { word: 'en', start: 3.4, end: 3.8 },
            { word: '.', start: 3.8, end: 4 },
          ],
        },
        { id: 2, text: ' Again', start: 4, end: 5, words: [{ word: ' Again', start: 4, end: 5 }] },
      ],
    });
    expect(parseTranscription(body, 'application/json', span)).toEqual([
      {
        start: 20,
        end: 24,
        text: 'and mister john dashwood had then.',
        words: [
          { start: 20, end: 20.5, word: 'and' },
          { start: 20.5, end: 21, word: 'mister' },
          { start: 21, end: 21.5, word: 'john' },
          { start: 21.5, end: 22.5, word: 'dashwood' },
          { start: 22.5, end: 23, word: 'had' },
          { start: 23, end: 24, word: 'then.' },
        ],
      },
      { start: 24, end: 25, text: 'Again', words: [{ start: 24, end: 25, word: 'Again' }] },
    ]);
    // OpenAI's own words carry no spaces: nothing is joined.
    const openai = JSON.stringify({
      text: 'a b',
      segments: [
        { start: 0, end: 1, text: 'a' },
        { start: 1.5, end: 2, text: 'b' },
      ],
      words: [
        { word: 'a', start: 0, end: 0.9 },
        { word: 'b', start: 1.5, end: 2 },
      ],
    });
    expect(parseTranscription(openai, 'application/json', span).map((u) => [u.text, u.words!.map((w) => w.word)])).toEqual([
      ['a', ['a']],
      ['b', ['b']],
    ]);
  });

  it("LocalAI's words name their text `text`", () => {
    const body = JSON.stringify({
      text: 'hello there',
      segments: [
        {
          id: 0,
          start: 0,
          end: 2,
          text: ' hello there',
          tokens: [],
          words: [
            { start: 0, end: 1, text: ' hello' },
            { start: 1, end: 2, text: ' there' },
          ],
        },
      ],
    });
    expect(parseTranscription(body, 'application/json', span)).toEqual([
      {
        start: 20,
        end: 22,
        text: 'hello there',
        words: [
          { start: 20, end: 21, word: 'hello' },
          { start: 21, end: 22, word: 'there' },
        ],
      },
    ]);
  });

  it('json and text: one utterance spanning the chunk; empty text: none; a body without text is refused', () => {
    expect(parseTranscription('{"text":" hi "}', 'application/json; charset=utf-8', span)).toEqual([{ start: 20, end: 30, text: 'hi' }]);
    expect(parseTranscription('hi there\n', 'text/plain', span)).toEqual([{ start: 20, end: 30, text: 'hi there' }]);
    expect(parseTranscription('{"text":""}', 'application/json', span)).toEqual([]);
    expect(() => parseTranscription('{"segments":[]}', 'application/json', span)).toThrow(/no "text"/);
    expect(() => parseTranscription('{"text":', 'application/json', span)).toThrow(/does not parse/);
  });

  it('error bodies: OpenAI, FastAPI, whisper.cpp, older vLLM and plain text', () => {
    expect(errorMessage('{"error":{"message":"Invalid file format."}}')).toBe('Invalid file format.');
    expect(errorMessage('{"detail":"Model not found"}')).toBe('Model not found');
    // whisper.cpp's server (examples/server/server.cpp) and vLLM before its error object.
    expect(errorMessage('{"error":"failed to read audio data"}')).toBe('failed to read audio data');
    expect(
      errorMessage(
        '{"object":"error","message":"Currently only support response_format `text` or `json`","type":"BadRequestError","param":null,"code":400}',
      ),
    ).toBe('Currently only support response_format `text` or `json`');
    expect(errorMessage('Bad Gateway')).toBe('Bad Gateway');
    expect(errorMessage('')).toBe('(empty body)');
  });

  it('Retry-After: seconds, an HTTP date, retry-after-ms; bounded; unreadable is none', () => {
    const h = (headers: Record<string, string>) => new Headers(headers);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(h({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(h({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(h({ 'retry-after': '86400' }), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(h({}), now)).toBeUndefined();
  });

  it('the prompt is the tail of the text, cut at a word', () => {
    expect(promptTail('  a  short\ntext ')).toBe('a short text');
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const tail = promptTail(long, 40);
    expect(tail.length).toBeLessThanOrEqual(40);
    expect(long.endsWith(tail)).toBe(true);
    expect(tail.startsWith('word')).toBe(true);
  });
});

describe('openai settings (pure)', () => {
  const config = (openai: Partial<EchologConfig['transcription']['openai']>): EchologConfig => ({
    ...DEFAULT_CONFIG,
    transcription: { ...DEFAULT_CONFIG.transcription, openai: { ...DEFAULT_CONFIG.transcription.openai, ...openai } },
  });

  it('config base_url, else $OPENAI_BASE_URL, else OpenAI; the key from the variable api_key_env names', () => {
    expect(openAiSettings(config({}), {})).toMatchObject({
      baseUrl: 'https://api.openai.com/v1',
      model: 'whisper-1',
      apiKey: '',
      concurrency: 2,
      timeoutMs: 60_000,
    });
    expect(openAiSettings(config({}), { OPENAI_BASE_URL: 'http://gpu:8000/v1/', OPENAI_API_KEY: 'k1' })).toMatchObject({
      baseUrl: 'http://gpu:8000/v1',
      apiKey: 'k1',
    });
    const own = openAiSettings(config({ base_url: 'http://lb:9000/v1', api_key_env: 'GROQ_API_KEY' }), {
      OPENAI_BASE_URL: 'http://gpu:8000/v1',
      OPENAI_API_KEY: 'k1',
      GROQ_API_KEY: 'k2',
    });
    expect(own).toMatchObject({ baseUrl: 'http://lb:9000/v1', apiKey: 'k2', apiKeyEnv: 'GROQ_API_KEY' });
  });

  it('a base URL that is not http(s) is refused naming where it came from; credentials in a URL are never shown', () => {
    const s = openAiSettings(config({}), { OPENAI_BASE_URL: 'gpu:8000' });
    expect(openAiSettingsProblem(s, { OPENAI_BASE_URL: 'gpu:8000' })).toMatch(/^\$OPENAI_BASE_URL "gpu:8000" is not an http\(s\) URL/);
    expect(openAiSettingsProblem(openAiSettings(config({}), {}), {})).toBeUndefined();
    expect(displayUrl('https://user:secret@host/v1/')).toBe('https://host/v1');
    const pasted = openAiSettingsProblem(openAiSettings(config({ api_key_env: 'sk-proj-abc123' }), {}), {});
    expect(pasted).toBe(
      'transcription.openai.api_key_env must be the name of an environment variable (letters, digits, _), not the key itself',
    );
  });
});

describe('OpenAiEngine against a local server of the API', () => {
  it('posts the chunk as multipart (file, model, language, verbose_json with word timestamps, prompt = the previous text), with the bearer key', async () => {
    const sent: Buffer[] = [];
    const s = await server({
      transcribe: async (file, upload) => {
        sent.push(fs.readFileSync(file));
        return `words of ${upload.durationSeconds} seconds`;
      },
    });
    const engine = engineFor(s.url);
    await engine.start();
    const first = speechChunk(1, 0, 1.5);
    const second = speechChunk(2, 1.5, 2);
    expect(await engine.transcribe(engineChunk(first))).toEqual([
      {
        start: 0,
        end: 1.5,
        text: 'words of 1.5 seconds',
        words: [
          { start: 0, end: 0.375, word: 'words' },
          { start: 0.375, end: 0.75, word: 'of' },
          { start: 0.75, end: 1.125, word: '1.5' },
          { start: 1.125, end: 1.5, word: 'seconds' },
        ],
      },
    ]);
    const [segment] = await engine.transcribe(engineChunk(second));
    expect(segment).toMatchObject({ start: 1.5, end: 3.5, text: 'words of 2 seconds' });
    expect(s.uploads).toHaveLength(2);
    const [a, b] = s.uploads;
    expect(a!.authorization).toBe(`Bearer ${KEY}`);
    expect(a!.fields).toEqual({
      model: ['whisper-1'],
      language: ['en'],
      response_format: ['verbose_json'],
      'timestamp_granularities[]': ['segment', 'word'],
    });
    expect(b!.fields.prompt).toEqual(['words of 1.5 seconds']);
    // A 16 kHz mono chunk's samples are sent as they are, byte for byte, behind a plain 44-byte header.
    const samples = fs.readFileSync(first.path).subarray(first.wav.dataOffset, first.wav.dataOffset + first.wav.dataBytes);
    expect([a!.fileBytes, a!.sampleRate, a!.channels, a!.fileName]).toEqual([44 + samples.length, 16000, 1, path.basename(first.path)]);
    expect(sent[0]!.subarray(44).equals(samples)).toBe(true);
    expect(parseWavHeader(sent[0]!)).toMatchObject({ dataOffset: 44, dataBytes: samples.length, riffFileBytes: 44 + samples.length });
    expect(engineTemps()).toEqual([]);
    await engine.close();
  });

  it('a 44.1 kHz stereo chunk is uploaded as 16 kHz mono from a private temp file, removed after', async () => {
    const modes: string[] = [];
    const s = await server({
      transcribe: async () => {
        // While the request is on the wire: the converted file, private to this account.
        for (const dir of engineTemps()) {
          modes.push(
            (fs.statSync(path.join(privateTmp, dir)).mode & 0o777).toString(8),
            (fs.statSync(path.join(privateTmp, dir, 'chunk.wav')).mode & 0o777).toString(8),
          );
        }
        return 'converted';
      },
    });
    const engine = engineFor(s.url);
    const chunk = speechChunk(1, 0, 2, { rate: 44100, channels: 2 });
    expect(await engine.transcribe(engineChunk(chunk))).toHaveLength(1);
    expect(s.uploads[0]).toMatchObject({ sampleRate: 16000, channels: 1, durationSeconds: 2, fileName: path.basename(chunk.path) });
    expect(modes).toEqual(['700', '600']);
    expect(engineTemps()).toEqual([]);
  });

  it('the temp file is removed when the request fails and when the audio stops between pieces (the queue stopping)', async () => {
    const s = await server();
    s.fail({ status: 401 });
    const engine = engineFor(s.url);
    const chunk = speechChunk(1, 0, 2);
    expect(await failure(engine.transcribe(engineChunk(chunk)))).toBeInstanceOf(OpenAiRequestError);
    expect(engineTemps()).toEqual([]);
    // Injected fault: the queue's abort between pieces, which only a stop produces on demand.
    async function* stopped(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(64 * 1024);
      throw new Error('the transcription queue was stopped');
    }
    await expect(engine.transcribe(engineChunk(chunk, stopped))).rejects.toThrow('the transcription queue was stopped');
    expect(engineTemps()).toEqual([]);
    expect(s.uploads).toHaveLength(1);
  });

  it('a server that refuses verbose_json gets json: one utterance per chunk, and json from then on', async () => {
    const s = await server({ verboseJson: false });
    const engine = engineFor(s.url);
    expect(await engine.transcribe(engineChunk(speechChunk(1, 10, 1)))).toEqual([{ start: 10, end: 11, text: 'words of 1 seconds' }]);
    await engine.transcribe(engineChunk(speechChunk(2, 11, 1)));
    // The refused requests are not counted as uploads; the second chunk asks json at once.
    expect(s.uploads.map((u) => u.fields.response_format?.[0])).toEqual(['json', 'json']);
  });

  it('401, 403-like and 404 fail at once, naming the URL and what to check, never the key', async () => {
    const s = await server();
    const wrongKey = await failure(engineFor(s.url, { apiKey: 'sk-wrong-key-987654' }).transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(wrongKey).toBeInstanceOf(OpenAiRequestError);
    expect(wrongKey).toMatchObject({ retryable: false, status: 401 });
    expect(wrongKey.message).toBe(
      `HTTP 401 from POST ${s.url}/audio/transcriptions: Incorrect API key provided.; check the key in $OPENAI_API_KEY`,
    );
    const noKey = await failure(engineFor(s.url, { apiKey: '' }).transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(noKey.message).toMatch(/the server wants a key: set \$OPENAI_API_KEY/);
    const model = await failure(engineFor(s.url, { model: 'whisper-9' }).transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(model).toMatchObject({ retryable: false, status: 404 });
    expect(model.message).toMatch(
      /The model `whisper-9` does not exist.*check transcription.openai.base_url .* and transcription.openai.model \(whisper-9\)/,
    );
    const path404 = await failure(engineFor(s.url.replace(/\/v1$/, '')).transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(path404).toMatchObject({ retryable: false, status: 404 });
    for (const error of [wrongKey, noKey, model, path404]) expect(error.message).not.toContain(KEY);
  });

  it('429 with Retry-After and 500 are retryable with the status; a hang past the timeout and a refused port too', async () => {
    const s = await server();
    s.fail(
      { status: 429, headers: { 'retry-after': '3' }, body: '{"error":{"message":"Rate limit reached"}}' },
      { status: 500 },
      { hang: true },
    );
    const engine = engineFor(s.url, { timeoutMs: 500 });
    const limited = await failure(engine.transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(limited).toMatchObject({
      retryable: true,
      status: 429,
      retryAfterMs: 3000,
      message: `HTTP 429 from POST ${s.url}/audio/transcriptions: Rate limit reached`,
    });
    expect(await failure(engine.transcribe(engineChunk(speechChunk(1, 0, 1))))).toMatchObject({ retryable: true, status: 500 });
    const hung = await failure(engine.transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(hung).toMatchObject({
      retryable: true,
      message: `no answer from ${s.url}/audio/transcriptions within 1 s (transcription.openai.timeout)`,
    });
    const port = await refusedPort();
    const refused = await failure(engineFor(`http://127.0.0.1:${port}/v1`).transcribe(engineChunk(speechChunk(1, 0, 1))));
    expect(refused).toMatchObject({
      retryable: true,
      message: `cannot reach http://127.0.0.1:${port}/v1/audio/transcriptions: ECONNREFUSED`,
    });
    // And then the server answers again.
    expect(await engine.transcribe(engineChunk(speechChunk(1, 0, 1)))).toHaveLength(1);
  });

  it("whisper.cpp's server (no model read, segments cut mid-word, tokens as words): whole words, in order", async () => {
    const sentence = 'and mister john dashwood had then leisure to consider prudently how much there might be in his power to do for them';
    const s = await server({ dialect: 'whisper.cpp', transcribe: async () => sentence });
    const segments = await engineFor(s.url, { model: 'ignored-by-whisper-cpp' }).transcribe(engineChunk(speechChunk(1, 0, 4)));
    // The quirk happened: the server cut a segment inside a word.
    const answer = JSON.parse(s.uploads[0]!.answer!) as { segments: Array<{ text: string }> };
    expect(answer.segments.length).toBeGreaterThan(1);
    expect(answer.segments.slice(1).some((seg) => !seg.text.startsWith(' '))).toBe(true);
    expect(segments.map((u) => u.text).join(' ')).toBe(sentence);
    expect(segments.flatMap((u) => u.words!.map((w) => w.word))).toEqual(sentence.split(' '));
  });

  it("LocalAI's server: words inside segments, named `text`", async () => {
    const s = await server({ dialect: 'localai', transcribe: async () => 'hello there' });
    const [segment] = await engineFor(s.url).transcribe(engineChunk(speechChunk(1, 0, 2)));
    expect(segment).toEqual({
      start: 0,
      end: 2,
      text: 'hello there',
      words: [
        { start: 0, end: 1, word: 'hello' },
        { start: 1, end: 2, word: 'there' },
      ],
    });
  });

  it('a slow answer within the timeout is an answer', async () => {
    const s = await server({ delayMs: 800 });
    expect(await engineFor(s.url, { timeoutMs: 5000 }).transcribe(engineChunk(speechChunk(1, 0, 1)))).toHaveLength(1);
  });

  it('real words: the server transcribes the recorded speech with pocketsphinx', async () => {
    const s = await server({ transcribe: undefined });
    const [segment] = await engineFor(s.url, { timeoutMs: 60_000 }).transcribe(engineChunk(speechChunk(1, 0, 7)));
    // Reference: "and mister john dashwood had then leisure to consider how much there might be prudently in his power …"
    expect(segment!.text).toMatch(/leisure to consider how much there might be/);
    expect(segment!.words!.length).toBeGreaterThan(10);
  }, 90_000);
});

describe('busy time of chunks in flight (pure, an injected clock)', () => {
  it('two 6 s requests side by side are 3 s each, 6 s in all: for 10 s of audio 0.6, not 1.2', () => {
    const busy = new SharedBusyTime();
    const [a, b] = [{}, {}];
    busy.begin(a, 1000);
    busy.begin(b, 1000);
    expect([busy.end(a, 7000), busy.end(b, 7000)]).toEqual([3, 3]);
  });

  it('staggered: each moment is shared among the chunks then in flight; one at a time a share is the compute time', () => {
    const busy = new SharedBusyTime();
    const [a, b, c] = [{}, {}, {}];
    busy.begin(a, 0); // a alone 0–2 s, a and b 2–6 s, b alone 6–8 s
    busy.begin(b, 2000);
    expect(busy.end(a, 6000)).toBe(4);
    expect(busy.end(b, 8000)).toBe(4);
    busy.begin(c, 20_000); // idle time between is nobody's
    expect(busy.end(c, 25_000)).toBe(5);
    // A clock stepping back adds nothing.
    busy.begin(a, 30_000);
    expect(busy.end(a, 29_000)).toBe(0);
  });
});

describe('the queue with the openai engine', () => {
  const transcription = (over: Partial<EchologConfig['transcription']> = {}) => ({ ...DEFAULT_CONFIG.transcription, ...over });

  it('concurrency 2: two requests in flight, the transcript in chunk order although the answers come out of order', async () => {
    // The first chunk's answer is the slowest: the 1 s chunk waits 1.5 s, the 1.5 s one 0.75 s, the 2 s one none.
    const s = await server({
      transcribe: async (_f, u) => (
        await new Promise((r) => setTimeout(r, (2 - u.durationSeconds) * 1500)),
        `chunk of ${u.durationSeconds} s`
      ),
    });
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const store = new TranscriptStore(dir);
    const logger = recordingLogger();
    const q = new ChunkTranscriber({
      engine: engineFor(s.url),
      engineName: 'openai',
      ffmpegPath: 'ffmpeg',
      config: transcription(),
      store,
      logger,
    });
    q.enqueue(speechChunk(1, 0, 1));
    q.enqueue(speechChunk(2, 1, 1.5));
    q.enqueue(speechChunk(3, 2.5, 2));
    expect(await q.drain(20_000)).toEqual([]);
    expect(s.maxInFlight).toBe(2);
    // Chunks 1 and 2 went together, with no text before them; chunk 3 went when chunk 2 was answered
    // (chunk 1's answer was 0.75 s away): its prompt is chunk 2's text, and the log says so.
    const promptFrom = logger.lines.filter((l) => l.message === 'chunk_transcribed').map((l) => [l.fields.seq, l.fields.prompt_from]);
    expect(promptFrom).toEqual([
      [1, undefined],
      [2, undefined],
      [3, 2],
    ]);
    // The server answered chunk 2 before chunk 1; the transcript does not show it.
    const upload = (seconds: number) => s.uploads.find((u) => u.durationSeconds === seconds)!;
    expect(s.uploads.map((u) => u.durationSeconds).sort()).toEqual([1, 1.5, 2]);
    expect([upload(1).fields.prompt, upload(1.5).fields.prompt, upload(2).fields.prompt]).toEqual([
      undefined,
      undefined,
      ['chunk of 1.5 s'],
    ]);
    expect(upload(1.5).answeredAt!).toBeLessThan(upload(1).answeredAt!);
    const lines = await store.read();
    expect(lines.map((l) => [l.seq, l.text, l.chunk])).toEqual([
      [1, 'chunk of 1 s', undefined],
      [1, '', 'transcribed'],
      [2, 'chunk of 1.5 s', undefined],
      [2, '', 'transcribed'],
      [3, 'chunk of 2 s', undefined],
      [3, '', 'transcribed'],
    ]);
  });

  it("concurrency 1: each chunk's prompt is exactly the previous chunk's text (prompt_from on chunk_transcribed)", async () => {
    const s = await server({ transcribe: async (_f, u) => `chunk of ${u.durationSeconds} s` });
    const logger = recordingLogger();
    const q = new ChunkTranscriber({
      engine: engineFor(s.url, { concurrency: 1 }),
      engineName: 'openai',
      ffmpegPath: 'ffmpeg',
      config: transcription(),
      store: new TranscriptStore(fs.mkdtempSync(path.join(tmp, 'q-'))),
      logger,
    });
    q.enqueue(speechChunk(1, 0, 1));
    q.enqueue(speechChunk(2, 1, 1.5));
    q.enqueue(speechChunk(3, 2.5, 2));
    expect(await q.drain(20_000)).toEqual([]);
    expect(s.maxInFlight).toBe(1);
    expect(s.uploads.map((u) => u.fields.prompt)).toEqual([undefined, ['chunk of 1 s'], ['chunk of 1.5 s']]);
    expect(logger.lines.filter((l) => l.message === 'chunk_transcribed').map((l) => l.fields.prompt_from)).toEqual([undefined, 1, 2]);
  });

  it('concurrency 2 with a server that takes 1.2× real time per request keeps up: no slower-than-real-time warning', async () => {
    // 2 s chunks, 2.4 s per answer, two at a time: 1.2 s of wall clock per 2 s of audio (0.6), while the
    // compute times summed say 1.2. Overheads (a loaded machine) would need to add 1.6 s per pair to cross 1.
    const s = await server({ delayMs: 2400 });
    const logger = recordingLogger();
    const q = new ChunkTranscriber({
      engine: engineFor(s.url),
      engineName: 'openai',
      ffmpegPath: 'ffmpeg',
      config: transcription(),
      store: new TranscriptStore(fs.mkdtempSync(path.join(tmp, 'q-'))),
      logger,
    });
    for (let seq = 1; seq <= 6; seq++) q.enqueue(speechChunk(seq, (seq - 1) * 2, 2));
    expect(await q.drain(30_000)).toEqual([]);
    expect(s.maxInFlight).toBe(2);
    const computed = logger.lines.filter((l) => l.message === 'chunk_transcribed').map((l) => Number(l.fields.compute_ms));
    expect(computed.reduce((a, b) => a + b, 0) / 1000 / 12).toBeGreaterThan(1);
    expect(q.progress.realtime_factor).toBeLessThan(1);
    expect(logger.lines.filter((l) => l.message === 'transcription_behind')).toEqual([]);
  });

  it('429 with Retry-After: the retry waits as asked and the log line has the status; 401 fails the chunk at once', async () => {
    const s = await server();
    s.fail({ status: 429, headers: { 'retry-after': '1' } });
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const logger = recordingLogger();
    const q = new ChunkTranscriber({
      engine: engineFor(s.url, { concurrency: 1 }),
      engineName: 'openai',
      ffmpegPath: 'ffmpeg',
      config: transcription(),
      store: new TranscriptStore(dir),
      logger,
      retryBaseMs: 10,
    });
    q.enqueue(speechChunk(1, 0, 1));
    expect(await q.drain(20_000)).toEqual([]);
    expect(logger.lines.find((l) => l.message === 'chunk_transcription_retry')).toMatchObject({
      level: 'warning',
      fields: { seq: 1, status: 429, retry_in_ms: 1000 },
    });
    expect(s.uploads[1]!.receivedAt - s.uploads[0]!.receivedAt).toBeGreaterThanOrEqual(950);

    const denied = recordingLogger();
    const q2 = new ChunkTranscriber({
      engine: engineFor(s.url, { apiKey: 'sk-wrong' }),
      engineName: 'openai',
      ffmpegPath: 'ffmpeg',
      config: transcription(),
      store: new TranscriptStore(dir),
      logger: denied,
      retryBaseMs: 10,
    });
    q2.enqueue(speechChunk(2, 1, 1));
    expect(await q2.drain(20_000)).toEqual([2]);
    expect(denied.lines.map((l) => l.message)).toEqual(['chunk_transcription_failed']);
    expect(denied.lines[0]!.fields).toMatchObject({ attempts: 1, reason: expect.stringContaining('check the key in $OPENAI_API_KEY') });
  });
});

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkEndpoint } from '../src/transcription/engines/openai-check.js';
import type { OpenAiSettings } from '../src/transcription/engines/openai-settings.js';
import { runCli, sandboxPool } from './helpers/cli.js';
import { refusedPort, startOpenAiServer, type OpenAiServer, type OpenAiServerOptions } from './helpers/openai-server.js';

const KEY = 'sk-doctor-0123456789';
const servers: OpenAiServer[] = [];
const pool = sandboxPool();
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => pool.cleanup());

async function server(options: OpenAiServerOptions = {}): Promise<OpenAiServer> {
  const s = await startOpenAiServer({ apiKey: KEY, transcribe: async () => '', ...options });
  servers.push(s);
  return s;
}

const settings = (baseUrl: string, over: Partial<OpenAiSettings> = {}): OpenAiSettings => ({
  baseUrl,
  model: 'whisper-1',
  language: 'en',
  apiKey: KEY,
  apiKeyEnv: 'OPENAI_API_KEY',
  concurrency: 2,
  timeoutMs: 5000,
  ...over,
});

describe('the endpoint check (echolog doctor)', () => {
  it('reachable, key accepted, model served', async () => {
    const s = await server();
    expect(await checkEndpoint(settings(s.url))).toEqual({ ok: true, detail: `${s.url}: reachable, key accepted, model whisper-1 served` });
  });

  it('says which step failed: not reachable, key refused, model unknown', async () => {
    const port = await refusedPort();
    expect(await checkEndpoint(settings(`http://127.0.0.1:${port}/v1`))).toMatchObject({
      ok: false,
      detail: `http://127.0.0.1:${port}/v1: not reachable: cannot reach http://127.0.0.1:${port}/v1/models: ECONNREFUSED`,
    });
    const s = await server({ models: ['whisper-large-v3', 'distil-whisper'] });
    expect(await checkEndpoint(settings(s.url, { apiKey: 'sk-wrong' }))).toEqual({
      ok: false,
      detail: `${s.url}: reachable, but the key was refused (HTTP 401)`,
      fix: 'check the key in $OPENAI_API_KEY',
    });
    expect(await checkEndpoint(settings(s.url, { apiKey: '' }))).toMatchObject({
      ok: false,
      fix: 'set $OPENAI_API_KEY (or name another variable in transcription.openai.api_key_env)',
    });
    expect(await checkEndpoint(settings(s.url))).toMatchObject({
      ok: false,
      detail: `${s.url}: reachable, key accepted, but model whisper-1 is not among its models (whisper-large-v3, distil-whisper)`,
    });
  });

  it('a model the server takes but does not list (speaches: whisper-1 is an alias): 0.5 s of silence decides', async () => {
    const s = await server({ models: ['Systran/faster-whisper-large-v3'], aliases: ['whisper-1'] });
    expect(await checkEndpoint(settings(s.url))).toEqual({
      ok: true,
      detail: `${s.url}: reachable, key accepted, model whisper-1 is not among the models it lists (an alias?), but it transcribed 0.5 s of silence`,
    });
    expect(s.uploads.map((u) => u.fields.model)).toEqual([['whisper-1']]);
  });

  it('a server without GET /models: 0.5 s of silence is transcribed with the model instead', async () => {
    const s = await server({ modelsRoute: false, models: ['ggml-base.en'] });
    expect(await checkEndpoint(settings(s.url, { model: 'ggml-base.en' }))).toMatchObject({
      ok: true,
      detail: expect.stringContaining('model ggml-base.en transcribed 0.5 s of silence'),
    });
    expect(s.uploads[0]).toMatchObject({ sampleRate: 16000, channels: 1, durationSeconds: 0.5 });
    const refused = await checkEndpoint(settings(s.url, { model: 'whisper-1' }));
    expect(refused).toMatchObject({
      ok: false,
      detail: expect.stringContaining('a 0.5 s transcription with model whisper-1 was refused: HTTP 404'),
    });
  });

  it("whisper.cpp's server (a plain-text 404 for /v1/models, no model read): reachable and transcribing is enough", async () => {
    const s = await server({ dialect: 'whisper.cpp', models: [] });
    expect(await checkEndpoint(settings(s.url, { model: 'anything' }))).toEqual({
      ok: true,
      detail: `${s.url}: reachable, key accepted, model anything transcribed 0.5 s of silence (the server lists no models)`,
    });
  });

  it('`echolog doctor` prints the endpoint line, never the key', async () => {
    const s = await server({ models: ['whisper-large-v3'] });
    const box = pool.sandbox();
    const result = await runCli(['doctor'], box, {
      ECHOLOG_ENGINE: 'openai',
      OPENAI_BASE_URL: s.url,
      OPENAI_API_KEY: KEY,
      ECHOLOG_MODEL: 'whisper-large-v3',
    });
    // ECHOLOG_MODEL is a whisper model name; the server's model comes from transcription.openai.model.
    expect(result.stdout).toMatch(
      /^warn {2}openai endpoint: .*but model whisper-1 is not among its models \(whisper-large-v3\) — fix: set transcription\.openai\.model/m,
    );
    expect(result.stdout).toMatch(/^ok {4}transcription: openai, model whisper-1$/m);
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });
});

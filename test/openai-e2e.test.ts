import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { onlySessionDir, readSessionLog, runCli, sandboxPool, type Sandbox } from './helpers/cli.js';
import { refusedPort, startOpenAiServer, type OpenAiServer } from './helpers/openai-server.js';

const SPEECH = ['0870', '0920'].map((n) =>
  fileURLToPath(new URL(`./fixtures/speech/sense_and_sensibility_01_austen_64kb-${n}.wav`, import.meta.url)),
);
const KEY = 'sk-e2e-secret-5f0c9a7e21';
const pool = sandboxPool();
const servers: OpenAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => pool.cleanup());

/** The two recorded utterances back to back (13 s) as the input file, and a config for engine openai. */
function prepare(box: Sandbox, openai: Record<string, string | number> = {}): string {
  const input = path.join(box.home, 'speech.wav');
  const [a, b] = SPEECH.map((f) => fs.readFileSync(f));
  // Both are plain 44-byte-header 16 kHz mono WAVs: join their samples under the first header, resized.
  const data = Buffer.concat([a!.subarray(44), b!.subarray(44)]);
  const header = Buffer.from(a!.subarray(0, 44));
  header.writeUInt32LE(36 + data.length, 4);
  header.writeUInt32LE(data.length, 40);
  fs.writeFileSync(input, Buffer.concat([header, data]));
  const config = path.join(box.root, 'echolog.conf');
  const lines = Object.entries({ concurrency: 2, timeout: 60, ...openai }).map(([k, v]) => `    ${k}: ${v}\n`);
  fs.writeFileSync(config, `transcription:\n  engine: openai\n  max_retries: 1\n  ready_timeout: 30\n  openai:\n${lines.join('')}`);
  return config;
}

describe('engine openai, end to end', () => {
  it('a server down for the whole session: the recording is whole, the chunks are named untranscribed; once it is back `echolog transcribe` fills the transcript', async () => {
    const box = pool.sandbox();
    const config = prepare(box);
    const port = await refusedPort();
    const env = { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: KEY };
    const recorded = await runCli(
      ['record', '--engine', 'openai', '--config', config, '--input', 'speech.wav', '--segment-time', '5', '--no-realtime'],
      box,
      env,
    );
    expect(recorded.code, recorded.stderr).toBe(0);
    const dir = onlySessionDir(box.recordings);
    const log = readSessionLog(dir);
    expect(log.filter((l) => l.message === 'chunk_created')).toHaveLength(3);
    const failed = log.filter((l) => l.message === 'chunk_transcription_failed');
    expect(failed.map((l) => l.fields.seq)).toEqual(['1', '2', '3']);
    expect(failed[0]!.fields.reason).toBe(`cannot reach http://127.0.0.1:${port}/v1/audio/transcriptions: ECONNREFUSED`);
    expect(recorded.stderr).toMatch(/3 chunks not transcribed \(seq 1-3\); run `echolog transcribe /);
    expect(log.at(-1)!.message).toBe('session_stop');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as { stop_reason?: string };
    expect(manifest.stop_reason).toBe('end_of_input');
    // The key is in no file of the session.
    for (const file of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, file)).includes(KEY), file).toBe(false);

    // The server is back, on the same port: pocketsphinx transcribes the uploads, so the words are real.
    servers.push(await startOpenAiServer({ apiKey: KEY }, port));
    const filled = await runCli(['transcribe', path.basename(dir), '--engine', 'openai', '--config', config], box, env);
    expect(filled.code, filled.stderr).toBe(0);
    const transcript = fs.readFileSync(path.join(dir, 'transcript.txt'), 'utf8');
    // Reference: "… leisure to consider how much there might be prudently in his power …" (chunks 1–2),
    // "… he might have been made still more respectable than he was" (chunk 3). Words pocketsphinx
    // gets whatever the chunk cuts: "woman" came out as "wall" once the chunks' header changed.
    expect(transcript).toMatch(/consider how much/);
    expect(transcript, JSON.stringify(transcript)).toMatch(/respectable/);
    const lines = fs
      .readFileSync(path.join(dir, 'transcript.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; chunk?: string; engine: string; start: number });
    expect(lines.filter((l) => l.chunk === 'transcribed').map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(lines.every((l) => l.engine === 'openai')).toBe(true);
    const starts = lines.filter((l) => !l.chunk).map((l) => l.start);
    expect(starts).toEqual([...starts].sort((x, y) => x - y));
    expect(starts.some((s) => s >= 10)).toBe(true); // chunk 3 in session time
  }, 240_000);

  it('a refused key: one clear line per chunk naming the URL and the variable, no retries, the recording unharmed', async () => {
    const box = pool.sandbox();
    const config = prepare(box);
    const server = await startOpenAiServer({ apiKey: KEY, transcribe: async () => 'never' });
    servers.push(server);
    const result = await runCli(
      ['record', '--engine', 'openai', '--config', config, '--input', 'speech.wav', '--segment-time', '5', '--no-realtime'],
      box,
      { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-not-the-right-one' },
    );
    expect(result.code, result.stderr).toBe(0);
    const log = readSessionLog(onlySessionDir(box.recordings));
    const failed = log.filter((l) => l.message === 'chunk_transcription_failed');
    expect(failed).toHaveLength(3);
    expect(failed[0]!.fields).toMatchObject({
      attempts: '1',
      reason: `HTTP 401 from POST ${server.url}/audio/transcriptions: Incorrect API key provided.; check the key in $OPENAI_API_KEY`,
    });
    expect(log.some((l) => l.message === 'chunk_transcription_retry')).toBe(false);
    expect(JSON.stringify(log)).not.toContain('sk-not-the-right-one');
  }, 120_000);

  it('--model names the server model; session_start names the engine, URL and concurrency', async () => {
    const box = pool.sandbox();
    const config = prepare(box);
    const server = await startOpenAiServer({
      models: ['whisper-large-v3'],
      transcribe: async (_f, u) => `speech of ${u.durationSeconds} s`,
    });
    servers.push(server);
    const result = await runCli(
      [
        'record',
        '--engine',
        'openai',
        '--config',
        config,
        '--input',
        'speech.wav',
        '--segment-time',
        '5',
        '--no-realtime',
        '--model',
        'whisper-large-v3',
      ],
      box,
      { OPENAI_BASE_URL: server.url },
    );
    expect(result.code, result.stderr).toBe(0);
    const dir = onlySessionDir(box.recordings);
    const start = readSessionLog(dir).find((l) => l.message === 'session_start')!;
    expect(start.fields).toMatchObject({
      transcription_engine: 'openai',
      transcription_model: 'whisper-large-v3',
      openai_url: server.url,
      openai_concurrency: '2',
    });
    expect(server.uploads.map((u) => u.fields.model?.[0])).toEqual(['whisper-large-v3', 'whisper-large-v3', 'whisper-large-v3']);
    expect(server.uploads[0]!.authorization).toBeUndefined();
    const text = fs.readFileSync(path.join(dir, 'transcript.txt'), 'utf8');
    // Every chunk's text, in chunk order, with two requests in flight.
    const utterances = fs
      .readFileSync(path.join(dir, 'transcript.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; text: string; chunk?: string })
      .filter((l) => !l.chunk);
    expect(utterances.map((u) => u.seq)).toEqual([1, 2, 3]);
    expect(text.trim().split('\n')).toEqual(utterances.map((u) => u.text));
    expect([...utterances.map((u) => u.text)].sort()).toEqual(server.uploads.map((u) => `speech of ${u.durationSeconds} s`).sort());
  }, 120_000);
});

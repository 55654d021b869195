import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandbox, runCli, waitFor } from './helpers/cli.js';
import { killDaemons, readJsonFile, runSeedPython, seedPaths, startDaemon } from './helpers/daemon.js';
import { pocketsphinxText, startOpenAiServer } from './helpers/openai-server.js';

const SPEECH = fileURLToPath(new URL('./fixtures/speech/sense_and_sensibility_01_austen_64kb-0920.wav', import.meta.url));
const box = makeSandbox();
const servers: Array<{ close(): Promise<void> }> = [];

afterAll(async () => {
  await killDaemons(box.root);
  await Promise.all(servers.map((s) => s.close()));
  box.cleanup();
});

describe('echolog daemon start --engine openai', () => {
  it("one daemon in front of one server: the seed's Python client gets the server's words", async () => {
    // Real words for the first request; the second's text is fixed, so the seed client's 15 s wait is not spent twice on pocketsphinx.
    let requests = 0;
    const server = await startOpenAiServer({
      apiKey: 'sk-daemon-key-1234',
      transcribe: async (file) => (++requests === 1 ? pocketsphinxText(file) : 'the second request'),
    });
    servers.push(server);
    const root = path.join(box.root, 'ipc');
    const place = { home: box.home, env: { ...box.env, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-daemon-key-1234' } };
    const started = await startDaemon(place, root, ['--engine', 'openai', '--model', 'whisper-1', '--timeout', '60']);
    expect(started.code, started.stderr).toBe(0);
    expect(readJsonFile(seedPaths(root).status)).toMatchObject({ active: true, model_loaded: true, model_size: 'whisper-1' });
    const results = await runSeedPython(root, SPEECH);
    // Reference: "had he married a more a amiable woman he might have been made still more respectable than he was".
    expect(results.join(' ')).toMatch(/married .*woman/);
    expect(server.uploads).toHaveLength(1);
    expect(server.uploads[0]).toMatchObject({ sampleRate: 16000, channels: 1, authorization: 'Bearer sk-daemon-key-1234' });
    // A second request (any client's) goes without the first one's text as its prompt.
    expect(await runSeedPython(root, SPEECH)).toEqual(['the second request']);
    expect(server.uploads).toHaveLength(2);
    expect(server.uploads[1]!.fields.prompt).toBeUndefined();
  }, 120_000);

  it('daemon stop while the server holds a request: the daemon ends within 5 s, not at the request timeout', async () => {
    const server = await startOpenAiServer();
    servers.push(server);
    server.fail({ hang: true });
    const root = path.join(box.root, 'ipc-hang');
    const place = { home: box.home, env: { ...box.env, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-unused' } };
    const started = await startDaemon(place, root, ['--engine', 'openai', '--timeout', '60']);
    expect(started.code, started.stderr).toBe(0);
    const paths = seedPaths(root);
    fs.writeFileSync(
      path.join(paths.requests, 'held.json'),
      JSON.stringify({ id: 'held', audio_file: SPEECH, timestamp: Date.now() / 1000 }),
    );
    await waitFor(() => server.maxInFlight > 0, 30_000, 'the upload to reach the server');
    const asked = performance.now();
    const stopped = await runCli(['daemon', 'stop', '--ipc-root', root], place);
    expect(stopped.code, stopped.stderr).toBe(0);
    await waitFor(() => !fs.existsSync(paths.marker), 10_000, 'the marker to go');
    // Before, the stop waited for the request's own timeout (transcription.openai.timeout, 60 s by default).
    expect(performance.now() - asked).toBeLessThan(5_000);
  }, 120_000);
});

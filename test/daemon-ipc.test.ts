import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, processesMatching } from './helpers/chunks.js';
import { execFileAsync, makeSandbox, makeSpeech, readSessionLog, runCli, waitFor } from './helpers/cli.js';
import {
  killDaemons,
  privateTmp,
  readJsonFile,
  runSeedBash,
  runSeedPython,
  seedPaths,
  seedRequest,
  startDaemon,
  track,
  type PrivateTmp,
} from './helpers/daemon.js';

/**
 * A real `echolog daemon` with pocketsphinx, driven by clients independent of echolog's: the
 * seed's bash and Python examples and a few lines written here from the seed's text.
 */
const box = makeSandbox();
afterAll(async () => {
  await killDaemons(box.root);
  box.cleanup();
});

/** An XDG_CONFIG_HOME whose echolog/echolog.conf is `text`. */
function writeConfig(text: string): string {
  const dir = fs.mkdtempSync(path.join(box.root, 'xdg-'));
  fs.mkdirSync(path.join(dir, 'echolog'));
  fs.writeFileSync(path.join(dir, 'echolog', 'echolog.conf'), text);
  return dir;
}

const SEED_STATUS_FIELDS = [
  'active',
  'model_loaded',
  'device',
  'model_size',
  'processing',
  'last_activity',
  'session_timeout',
  'timestamp',
  'pid',
];
let fox: string;
let weather: string;
/**
 * For the seed's bash client: it sleeps 0.1 s per try but counts each as 1 of its TIMEOUT=15, so
 * it waits 1.5 s, not 15 s; pocketsphinx needs ~0.3 s per second of audio here (more under load).
 */
let hello: string;
beforeAll(async () => {
  hello = await makeSpeech('hello world', path.join(box.root, 'hello.wav'));
  fox = await makeSpeech('the quick brown fox jumps over the lazy dog', path.join(box.root, 'fox.wav'));
  weather = await makeSpeech('it will be sunny in the afternoon', path.join(box.root, 'weather.wav'));
});

const said = (results: unknown, ...words: string[]) => {
  const text = (results as string[]).join(' ').toLowerCase();
  return words.filter((w) => text.includes(w)).length;
};

describe('on the default private root ($XDG_RUNTIME_DIR/echolog)', () => {
  const root = path.join(box.root, 'run', 'echolog');
  const files = seedPaths(root);
  let pid = 0;

  beforeAll(async () => {
    const result = await startDaemon(box, undefined, ['--timeout', '120']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    pid = result.pid;
  });

  it('start returns once ready: private dirs, the marker {started, pid} and a status with the seed fields', async () => {
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(fs.statSync(files.requests).mode & 0o777).toBe(0o700);
    expect(fs.statSync(files.responses).mode & 0o777).toBe(0o700);
    const marker = readJsonFile(files.marker);
    expect(Object.keys(marker).sort()).toEqual(['pid', 'started']);
    expect(marker.pid).toBe(pid);
    expect(Math.abs((marker.started as number) - Date.now() / 1000)).toBeLessThan(60);
    const status = readJsonFile(files.status);
    expect(Object.keys(status).sort()).toEqual([...SEED_STATUS_FIELDS].sort());
    expect(status).toMatchObject({ active: true, model_loaded: true, device: 'cpu', model_size: 'en-us', session_timeout: 120, pid });
    const json = await runCli(['daemon', 'status', '--json'], box);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ root, state: 'ready', pid });
    expect((await runCli(['status'], box)).stdout).toMatch(new RegExp(`^daemon: ready, pid ${pid}, en-us on cpu, `, 'm'));
  });

  it('a second start while it runs says so, exit 1, and changes nothing', async () => {
    const marker = fs.readFileSync(files.marker, 'utf8');
    const second = await runCli(['daemon', 'start', '--engine', 'pocketsphinx'], box);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`a session daemon is already running on ${root} (pid ${pid})`);
    expect(fs.readFileSync(files.marker, 'utf8')).toBe(marker);
  });

  it("the seed's bash client (which writes its request with cat >) and Python client get the words", async () => {
    const bash = JSON.parse(await runSeedBash(root, hello)) as Record<string, unknown>;
    expect(Object.keys(bash)).toEqual(['id', 'results', 'timestamp', 'device', 'session_active']);
    expect(bash).toMatchObject({ device: 'cpu', session_active: true });
    expect(said(bash.results, 'hello', 'world')).toBe(2);
    expect(said(await runSeedPython(root, fox), 'quick', 'brown', 'fox', 'lazy', 'dog')).toBeGreaterThanOrEqual(4);
    // Both clients deleted their responses; the daemon took (removed) both requests.
    expect(fs.readdirSync(files.requests)).toEqual([]);
    expect(fs.readdirSync(files.responses)).toEqual([]);
  });

  it('converts any audio ffmpeg reads: 44.1 kHz stereo WAV, FLAC', async () => {
    const stereo = path.join(box.root, 'fox-44k-stereo.wav');
    const flac = path.join(box.root, 'fox.flac');
    await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', fox, '-ar', '44100', '-ac', '2', stereo]);
    await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', fox, '-ar', '22050', flac]);
    for (const file of [stereo, flac]) {
      const { response } = await seedRequest(root, file);
      expect(response.error).toBeUndefined();
      expect(said(response.results, 'quick', 'brown', 'fox', 'lazy', 'dog')).toBeGreaterThanOrEqual(4);
    }
  });

  it('under 150 ms of audio: results [] at once', async () => {
    const short = path.join(box.root, 'short.wav');
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=16000:duration=0.1',
      '-ac',
      '1',
      short,
    ]);
    const { response, ms } = await seedRequest(root, short);
    expect(response).toMatchObject({ results: [], session_active: true });
    expect(response.error).toBeUndefined();
    // Generous for a loaded machine: the engine (≈ 1 s here) was not involved.
    expect(ms).toBeLessThan(700);
  });

  it('a missing file, a directory or a FIFO: results [] with an error naming it', async () => {
    const missing = path.join(box.root, 'missing.wav');
    const fifo = path.join(box.root, 'audio.fifo');
    execFileSync('mkfifo', [fifo]);
    expect((await seedRequest(root, missing)).response).toMatchObject({ results: [], error: `Audio file not found: ${missing}` });
    expect((await seedRequest(root, box.root)).response).toMatchObject({
      results: [],
      error: `Audio file is not a regular file: ${box.root}`,
    });
    expect((await seedRequest(root, fifo)).response).toMatchObject({ results: [], error: `Audio file is not a regular file: ${fifo}` });
    const garbage = path.join(box.root, 'garbage.wav');
    fs.writeFileSync(garbage, 'not audio at all');
    expect((await seedRequest(root, garbage)).response.error).toMatch(
      /^Audio file not readable by ffmpeg: \S*garbage\.wav \(\S+: Invalid data found when processing input\)$/,
    );
  });

  it('malformed JSON: after a moment (a client may still be writing), an error response under the file name id; the file is taken', async () => {
    const id = '1756080306440117328';
    const request = path.join(files.requests, `${id}.json`);
    fs.writeFileSync(request, '{"id": "1756080306440117328", "audio_file": ');
    const responseFile = path.join(files.responses, `${id}.json`);
    const response = await waitFor<Record<string, unknown>>(
      () => (fs.existsSync(responseFile) ? readJsonFile(responseFile) : undefined),
      5000,
      'error response',
    );
    expect(response).toMatchObject({ id, results: [] });
    expect(response.error).toMatch(/^malformed request: not JSON/);
    expect(fs.existsSync(request)).toBe(false);
    fs.rmSync(responseFile);
    const relative = await seedRequest(root, 'fox.wav');
    expect(relative.response.error).toBe('malformed request: audio_file "fox.wav" must be an absolute path');
  });

  it('three clients at once: each gets its own answer', async () => {
    // The bash client's 1.5 s would not cover waiting behind another request: two Python clients and ours.
    const [a, b, c] = await Promise.all([
      runSeedPython(root, fox),
      runSeedPython(root, weather),
      seedRequest(root, hello).then((r) => r.response.results),
    ]);
    expect(said(a, 'quick', 'fox', 'dog')).toBeGreaterThanOrEqual(2);
    expect(said(a, 'sunny', 'afternoon', 'hello')).toBe(0);
    expect(said(b, 'sunny', 'afternoon')).toBe(2);
    expect(said(b, 'fox', 'hello')).toBe(0);
    expect(said(c, 'hello', 'world')).toBe(2);
    const log = fs
      .readFileSync(files.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('SESSION transcription'));
    expect(log.length).toBeGreaterThanOrEqual(2);
  });

  it('requests are served one at a time in arrival order', async () => {
    const short = path.join(box.root, 'short.wav');
    const ids = ['1000000000000000001', '1000000000000000002', '1000000000000000003'];
    const audio = [fox, short, path.join(box.root, 'missing.wav')];
    // Written atomically, a few ms apart, while the daemon is busy with the first.
    for (const [i, id] of ids.entries()) {
      fs.writeFileSync(
        path.join(files.requests, `${id}.json.tmp`),
        JSON.stringify({ id, audio_file: audio[i], timestamp: Date.now() / 1000 }),
      );
      fs.renameSync(path.join(files.requests, `${id}.json.tmp`), path.join(files.requests, `${id}.json`));
      await new Promise((r) => setTimeout(r, 15));
    }
    const responses = await Promise.all(
      ids.map((id) =>
        waitFor<Record<string, unknown>>(
          () => {
            const file = path.join(files.responses, `${id}.json`);
            return fs.existsSync(file) ? readJsonFile(file) : undefined;
          },
          15_000,
          `response ${id}`,
        ),
      ),
    );
    expect(responses.map((r) => r.timestamp as number)).toEqual(responses.map((r) => r.timestamp as number).sort((a, b) => a - b));
    const served = readSessionLog(root, 'session_daemon.log')
      .filter((l) => ids.includes(l.fields.id ?? ''))
      .map((l) => l.fields.id);
    expect(served).toEqual(ids);
    for (const id of ids) fs.rmSync(path.join(files.responses, `${id}.json`));
  });

  it('stop: the daemon exits, removes its marker, and says so in its log', async () => {
    const stop = await runCli(['daemon', 'stop'], box);
    expect(stop.stdout).toBe(`session daemon stopped (pid ${pid})\n`);
    expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(files.marker)).toBe(false);
    expect(readJsonFile(files.status)).toMatchObject({ active: false, model_loaded: false, pid });
    const log = readSessionLog(root, 'session_daemon.log');
    expect(log.at(-1)).toMatchObject({ message: 'daemon_stop', fields: { pid: String(pid) } });
    const status = await runCli(['daemon', 'status'], box);
    expect(status.code).toBe(1);
    expect(status.stdout).toBe(`daemon: not running (root ${root})\n`);
  });
});

describe('on a shared /tmp-style root (world-writable, sticky)', () => {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-shared-tmp-'));
  fs.chmodSync(shared, 0o1777);
  afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));
  const files = seedPaths(shared);

  it('a stale marker (dead pid) is reported, then replaced by start; the seed client works; subdirs are 0700', async () => {
    const dead = spawnSync('true').pid!;
    fs.writeFileSync(files.marker, JSON.stringify({ started: 1756080009.563, pid: dead }));
    const before = await runCli(['daemon', 'status', '--ipc-root', shared], box);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`the marker names pid ${dead}, which is not running (a stale marker)`);
    const started = await startDaemon(box, shared, ['--timeout', '60']);
    expect(started.code).toBe(0);
    expect(readJsonFile(files.marker).pid).toBe(started.pid);
    expect(readSessionLog(shared, 'session_daemon.log').map((l) => l.message)).toContain('stale_marker_removed');
    expect(fs.statSync(files.requests).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(files.log).mode & 0o777).toBe(0o600);
    expect(said(await runSeedPython(shared, fox), 'quick', 'brown', 'fox', 'lazy', 'dog')).toBeGreaterThanOrEqual(4);
    // SIGTERM (the seed's `pkill -f` way) is a clean shutdown too.
    process.kill(started.pid, 'SIGTERM');
    await waitFor(() => !isAlive(started.pid), 10_000, 'the daemon to exit on SIGTERM');
    expect(fs.existsSync(files.marker)).toBe(false);
    expect(readSessionLog(shared, 'session_daemon.log').at(-1)).toMatchObject({ message: 'daemon_stop', fields: { reason: 'SIGTERM' } });
  });

  it('refuses a request dir another account made there, a log name planted as a symlink, a symlink root, a group-writable root: exit 2, nothing created', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-shared-tmp-'));
    fs.chmodSync(other, 0o1777);
    try {
      fs.mkdirSync(path.join(other, 'speech_session_requests'), { mode: 0o777 });
      fs.chownSync(path.join(other, 'speech_session_requests'), 65534, 65534);
      const foreign = await runCli(['daemon', 'start', '--ipc-root', other], box);
      expect(foreign.code).toBe(2);
      expect(foreign.stderr).toContain(`IPC root ${other} cannot be used: ${other}/speech_session_requests: it is owned by uid 65534`);
      // A log name planted as a symlink to a file of ours: never appended to through the link.
      fs.rmSync(path.join(other, 'speech_session_requests'), { recursive: true });
      const victim = path.join(box.root, 'victim.txt');
      fs.writeFileSync(victim, 'mine\n');
      fs.symlinkSync(victim, path.join(other, 'session_daemon.log'));
      const planted = await runCli(['daemon', 'start', '--ipc-root', other], box);
      expect(planted.code).toBe(2);
      expect(planted.stderr).toBe(
        `echolog: ${other}/session_daemon.log cannot be used: it is a symlink; remove it or choose another IPC root\n`,
      );
      expect(fs.readFileSync(victim, 'utf8')).toBe('mine\n');
      const link = path.join(box.root, 'root-link');
      fs.symlinkSync(shared, link);
      const viaLink = await runCli(['daemon', 'start', '--ipc-root', link], box);
      expect(viaLink.code).toBe(2);
      expect(viaLink.stderr).toContain('it is a symlink');
      const loose = path.join(box.root, 'loose');
      fs.mkdirSync(loose);
      fs.chmodSync(loose, 0o770);
      const group = await runCli(['daemon', 'start', '--ipc-root', loose], box);
      expect(group.code).toBe(2);
      expect(group.stderr).toContain('it is writable by group (mode 0770)');
      expect(fs.readdirSync(loose)).toEqual([]);
      expect(fs.existsSync(path.join(other, 'session_daemon_active'))).toBe(false);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('a start that fails', () => {
  it('says why, from the daemon log: no engine to load (exit 1), and leaves no daemon and no marker', async () => {
    // A PATH with node and ffmpeg but no pocketsphinx.
    const bin = path.join(box.root, 'bin-no-pocketsphinx');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim(), path.join(bin, 'ffmpeg'));
    const root = path.join(box.root, 'no-engine');
    const result = await runCli(['daemon', 'start', '--engine', 'pocketsphinx', '--ipc-root', root], box, { PATH: bin });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^echolog: the session daemon exited with code 1: the daemon has no engine to load: pocketsphinx is not installed .*; see .*session_daemon\.log\n$/,
    );
    expect(fs.existsSync(seedPaths(root).marker)).toBe(false);
    expect(processesMatching('daemon', '--foreground', root)).toEqual([]);
  });

  it('not ready within transcription.ready_timeout: stopped, and the message says so', async () => {
    const root = path.join(box.root, 'slow');
    const result = await runCli(['daemon', 'start', '--engine', 'pocketsphinx', '--ipc-root', root], box, {
      XDG_CONFIG_HOME: writeConfig('transcription:\n  ready_timeout: 0.05\n'),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the session daemon did not become ready within 0.05 s (transcription.ready_timeout)');
    expect(fs.existsSync(seedPaths(root).marker)).toBe(false);
    expect(processesMatching('daemon', '--foreground', root)).toEqual([]);
  });
});

describe('hosting whisper', () => {
  // whisper.cpp's dummy test model (see test/fixtures/models/SOURCE.md): it runs the pipeline but recognises nothing.
  const model = fileURLToPath(new URL('./fixtures/models/for-tests-ggml-tiny.en.bin', import.meta.url));

  it('loads the model, answers a request through it, and names the model in the status', async () => {
    const root = path.join(box.root, 'whisper');
    const result = await runCli(['daemon', 'start', '--engine', 'whisper', '--model', model, '--ipc-root', root], box);
    expect(result.code).toBe(0);
    track(Number(/pid (\d+)/.exec(result.stdout)?.[1]));
    expect(readJsonFile(seedPaths(root).status)).toMatchObject({ model_loaded: true, model_size: model, device: 'cpu' });
    const { response } = await seedRequest(root, hello, 30_000);
    expect(response.error).toBeUndefined();
    expect(Array.isArray(response.results)).toBe(true);
    expect((await runCli(['daemon', 'stop', '--ipc-root', root], box)).code).toBe(0);
  });
});

describe('inactivity', () => {
  it('a daemon without requests for --timeout seconds shuts down and removes its marker; a request extends it', async () => {
    const root = path.join(box.root, 'idle');
    const started = await startDaemon(box, root, ['--timeout', '2']);
    expect(started.code).toBe(0);
    const files = seedPaths(root);
    await new Promise((r) => setTimeout(r, 1200));
    await seedRequest(root, path.join(root, 'nothing.wav'));
    // Alive 1.2 s + the request later; without the extension it would stop at 2 s.
    await new Promise((r) => setTimeout(r, 1200));
    expect(isAlive(started.pid)).toBe(true);
    await waitFor(() => !isAlive(started.pid), 6000, 'the idle daemon to exit');
    expect(fs.existsSync(files.marker)).toBe(false);
    expect(readSessionLog(root, 'session_daemon.log').at(-1)).toMatchObject({
      message: 'daemon_stop',
      fields: { reason: 'inactivity_timeout' },
    });
    track(started.pid);
  });

  it('a --timeout longer than a timer holds (5w) is waited for: the daemon still answers after it started', async () => {
    const root = path.join(box.root, 'long-idle');
    const started = await startDaemon(box, root, ['--timeout', '5w']);
    expect(started.code).toBe(0);
    track(started.pid);
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: the daemon would have stopped by now.
    await seedRequest(root, path.join(root, 'nothing.wav'));
    expect(isAlive(started.pid)).toBe(true);
    expect(fs.existsSync(seedPaths(root).marker)).toBe(true);
    expect((await runCli(['daemon', 'stop', '--ipc-root', root], box)).code).toBe(0);
  });
});

/**
 * The seed's clients unmodified need its exact /tmp paths. They and the daemon run in a private
 * /tmp (a tmpfs in a mount namespace of their own; see privateTmp), so this runs whatever other
 * suites or daemons have in the real /tmp, and leaves nothing there. Rewriting the paths in a copy
 * of the clients would test a client the seed never printed; this runs its text as it is.
 */
describe('on /tmp, the seed clients unmodified (a private /tmp)', () => {
  let tmp: PrivateTmp | undefined;
  afterAll(async () => {
    await killDaemons(box.root);
    await tmp?.close();
  });

  it('bash and Python clients as the seed prints them', async () => {
    tmp = await privateTmp([hello, weather]);
    // The sandbox's own temp folder lies under the real /tmp, which the private one hides: the daemon's is /tmp.
    const inTmp = { ...box, env: { ...box.env, TMPDIR: '/tmp' }, via: tmp.enter };
    const started = await startDaemon(inTmp, '/tmp', ['--timeout', '60']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const bash = JSON.parse(await runSeedBash('/tmp', '/tmp/hello.wav', tmp.enter)) as { results: string[] };
    expect(said(bash.results, 'hello', 'world')).toBe(2);
    expect(said(await runSeedPython('/tmp', '/tmp/weather.wav', tmp.enter), 'sunny', 'afternoon')).toBe(2);
    expect((await runCli(['daemon', 'stop', '--ipc-root', '/tmp'], inTmp)).code).toBe(0);
  });
});

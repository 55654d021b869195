import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from './helpers/chunks.js';
import { execFileAsync, makeSandbox, readSessionLog, runCli, waitFor } from './helpers/cli.js';
import { killDaemons, readJsonFile, seedPaths, seedRequest, startDaemon } from './helpers/daemon.js';

/**
 * Issue 16 §4 with a real second account: on a shared sticky IPC root, `nobody` writes
 * session_daemon_active and a fresh status naming its own `sleep`. Neither file is believed (not
 * the user's, and the pid is no session daemon): `daemon status`, `daemon start`, `status` and
 * `record --engine auto|daemon` all say so from the same check. And the daemon answers a request
 * path that is a folder once, and a request whose inner id differs under its file name.
 */
const boxes: Array<ReturnType<typeof makeSandbox>> = [];
const strangers: number[] = [];
function sandbox(config = ''): ReturnType<typeof makeSandbox> {
  const box = makeSandbox();
  if (config) fs.writeFileSync(path.join(box.home, 'echolog.conf'), config);
  boxes.push(box);
  return box;
}
afterAll(async () => {
  for (const pid of strangers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await killDaemons(...boxes.map((b) => b.root));
  boxes.forEach((b) => b.cleanup());
});

const oneLine = (text: string) => expect(text).toMatch(/^echolog: [^\n]+\n$/);

describe("another account's marker and status on a shared sticky root", () => {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-shared-'));
  fs.chmodSync(shared, 0o1777);
  const files = seedPaths(shared);
  let stranger: number;
  afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

  beforeAll(() => {
    // As `nobody`: its own sleep, then the seed's two files naming it, with a fresh timestamp.
    const script = `
      sleep 120 >/dev/null 2>&1 &
      pid=$!
      now=$(date +%s.%N)
      printf '{"started": %s, "pid": %s}' "$now" "$pid" > ${files.marker}
      printf '{"active": true, "model_loaded": true, "device": "cuda", "model_size": "large-v3", "processing": false, "last_activity": %s, "session_timeout": 600, "timestamp": %s, "pid": %s}' "$now" "$now" "$pid" > ${files.status}
      echo $pid`;
    stranger = Number(execFileSync('su', ['nobody', '-s', '/bin/sh', '-c', script], { encoding: 'utf8' }).trim());
    strangers.push(stranger);
    expect(isAlive(stranger)).toBe(true);
    expect(fs.statSync(files.marker).uid).toBe(65534);
    expect(readJsonFile(files.marker).pid).toBe(stranger);
  });

  const notBelieved = `the marker ${files.marker} is owned by uid 65534, not by you (uid 0); it is not believed`;

  it('daemon status and status say it is not ready, and why (exit 1 for daemon status)', async () => {
    const box = sandbox(`transcription:\n  daemon_ipc_root: ${shared}\n`);
    const daemonStatus = await runCli(['daemon', 'status', '--ipc-root', shared], box);
    expect(daemonStatus.code).toBe(1);
    expect(daemonStatus.stdout).toBe(`daemon: not ready, ${notBelieved} (root ${shared})\n`);
    const json = await runCli(['daemon', 'status', '--ipc-root', shared, '--json'], box);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'not_ready', why: notBelieved });
    expect(JSON.parse(json.stdout).pid).toBeUndefined();
    const status = await runCli(['status'], box);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`daemon: not ready, ${notBelieved} (root ${shared})\n`);
  });

  it('daemon start refuses the root in one line (exit 2: it cannot claim the marker), and signals no one', async () => {
    const box = sandbox();
    const start = await startDaemon(box, shared);
    expect(start.code).toBe(2);
    expect(start.stderr).toBe(
      `echolog: IPC root ${shared} cannot be used: ${notBelieved}; choose another with --ipc-root or transcription.daemon_ipc_root\n`,
    );
    expect(fs.readdirSync(shared).sort()).toEqual(['session_daemon_active', 'session_daemon_status.json']);
    const stop = await runCli(['daemon', 'stop', '--ipc-root', shared], box);
    expect(stop.code).toBe(1);
    oneLine(stop.stderr);
    expect(stop.stderr).toContain('not signalling the pid it names');
    expect(isAlive(stranger)).toBe(true);
    expect(readJsonFile(files.marker).pid).toBe(stranger);
  });

  it('record --engine auto does not use it (pocketsphinx transcribes); --engine daemon gives up at once with the reason', async () => {
    const box = sandbox(`transcription:\n  daemon_ipc_root: ${shared}\n  ready_timeout: 60\n`);
    const auto = await runCli(
      [
        'record',
        '--input-format',
        'lavfi',
        '--input',
        'anullsrc=r=16000:cl=mono',
        '--duration',
        '2',
        '--no-realtime',
        '--session-id',
        'auto',
        '--engine',
        'auto',
        '-q',
      ],
      box,
    );
    expect(auto.code, auto.stderr).toBe(0);
    expect(readSessionLog(path.join(box.recordings, 'auto'))[0]!.fields.transcription_engine).toBe('pocketsphinx');

    const t0 = Date.now();
    const daemon = await runCli(
      [
        'record',
        '--input-format',
        'lavfi',
        '--input',
        'anullsrc=r=16000:cl=mono',
        '--duration',
        '1',
        '--no-realtime',
        '--session-id',
        'daemon',
        '--engine',
        'daemon',
        '-q',
      ],
      box,
    );
    expect(daemon.code, daemon.stderr).toBe(0);
    // Not the 60 s ready_timeout: a file of another account's does not become ours by waiting.
    expect(Date.now() - t0).toBeLessThan(45_000);
    const warning = readSessionLog(path.join(box.recordings, 'daemon')).find((l) => l.message === 'transcription_unavailable');
    expect(warning?.fields.reason).toBe(`the session daemon is not ready: ${notBelieved}`);
    // No request was written for the stranger to read.
    expect(fs.existsSync(files.requests) ? fs.readdirSync(files.requests) : []).toEqual([]);
  });
});

describe('a marker of ours naming a live process that is no session daemon (the pid was reused)', () => {
  it('daemon status says so; daemon start replaces it, and the process is left alone', async () => {
    const box = sandbox();
    const root = path.join(box.root, 'run', 'echolog');
    const files = seedPaths(root);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const sleeper = Number(execFileSync('sh', ['-c', 'sleep 120 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
    strangers.push(sleeper);
    const now = Date.now() / 1000;
    fs.writeFileSync(files.marker, JSON.stringify({ started: now, pid: sleeper }));
    fs.writeFileSync(
      files.status,
      JSON.stringify({
        active: true,
        model_loaded: true,
        device: 'cpu',
        model_size: 'x',
        processing: false,
        last_activity: now,
        session_timeout: 600,
        timestamp: now,
        pid: sleeper,
      }),
    );
    const before = await runCli(['daemon', 'status'], box);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      `the marker names pid ${sleeper}, which is not a session daemon (its command line is "sleep 120"): a stale marker`,
    );
    const started = await startDaemon(box, undefined, ['--timeout', '60']);
    expect(started.code, started.stderr).toBe(0);
    expect(readJsonFile(files.marker).pid).toBe(started.pid);
    expect(isAlive(sleeper)).toBe(true);
    await runCli(['daemon', 'stop'], box);
  });
});

describe('requests the daemon cannot take', () => {
  const box = sandbox();
  const root = path.join(box.root, 'run', 'echolog');
  const files = seedPaths(root);
  let audio: string;
  beforeAll(async () => {
    audio = path.join(box.root, 'tone.wav');
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=16000:duration=1',
      '-ac',
      '1',
      audio,
    ]);
    const started = await startDaemon(box, undefined, ['--timeout', '120']);
    expect(started.code, started.stderr).toBe(0);
  });
  afterAll(() => runCli(['daemon', 'stop'], box));

  const logLines = () => readSessionLog(root, 'session_daemon.log');

  it('a request path that is a folder: answered once with an error, left in place, never again while it stays', async () => {
    const folder = path.join(files.requests, '1000.json');
    fs.mkdirSync(folder);
    const response = path.join(files.responses, '1000.json');
    const answer = await waitFor<Record<string, unknown>>(
      () => (fs.existsSync(response) ? readJsonFile(response) : undefined),
      15_000,
      'the answer to the folder',
    );
    expect(answer).toMatchObject({ id: '1000', results: [] });
    expect(answer.error).toBe(`malformed request: ${folder} is not a regular file; it is left in place`);
    fs.rmSync(response);
    // Two real requests make the daemon list the dir again (inotify, then its poll): the folder is not answered twice.
    for (let i = 0; i < 2; i++) expect((await seedRequest(root, audio)).response.error).toBeUndefined();
    expect(fs.existsSync(response)).toBe(false);
    expect(fs.statSync(folder).isDirectory()).toBe(true);
    expect(logLines().filter((l) => l.message === 'request_failed')).toEqual([]);
    expect(logLines().filter((l) => l.fields.id === '1000')).toHaveLength(1);
  });

  it('a request whose inner id differs from its file name is answered under the file name, and the log says so', async () => {
    fs.writeFileSync(
      path.join(files.requests, '2000.json'),
      JSON.stringify({ id: '3000', audio_file: audio, timestamp: Date.now() / 1000 }),
    );
    const response = path.join(files.responses, '2000.json');
    const answer = await waitFor<Record<string, unknown>>(
      () => (fs.existsSync(response) ? readJsonFile(response) : undefined),
      15_000,
      'the answer under the file name',
    );
    expect(answer).toMatchObject({ id: '2000' });
    expect(answer.error).toBeUndefined();
    expect(fs.existsSync(path.join(files.responses, '3000.json'))).toBe(false);
    expect(logLines().find((l) => l.message === 'request_id_mismatch')?.fields).toMatchObject({
      file: '2000.json',
      id: '3000',
      answered_as: '2000',
    });
  });
});

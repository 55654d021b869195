import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSessionTimeout } from '../src/cli/daemon-command.js';
import { looksLikeSessionDaemon } from '../src/ipc/daemon-state.js';
import { execFileSync } from 'node:child_process';
import { engineFormatSpan, openEngineAudio } from '../src/daemon/audio-input.js';
import { startFailureOf } from '../src/daemon/daemon-log.js';
import { formatDaemonStatus } from '../src/ipc/daemon-report.js';
import { parseHostedEngine } from '../src/daemon/hosted-engine.js';
import { judgeRoot, judgeSubdir } from '../src/ipc/ipc-root.js';
import { RequestWatcher } from '../src/daemon/request-watcher.js';
import { StatusWriter } from '../src/daemon/status-writer.js';
import { defaultIpcRoot, ipcPaths, ipcPathsFor } from '../src/ipc/ipc-paths.js';
import {
  buildResponse,
  judgeLiveness,
  parseMarker,
  parseRequest,
  parseResponse,
  parseStatus,
  requestIdOfFile,
  type DaemonStatus,
} from '../src/ipc/protocol.js';
import { formatLogLine } from '../src/logging/line-format.js';
import { parseState } from '../src/process/process-identity.js';

describe('IPC paths', () => {
  it('are the seed-004 names under the root, so --ipc-root /tmp gives its exact paths', () => {
    expect(ipcPaths('/tmp')).toEqual({
      root: '/tmp',
      requests: '/tmp/speech_session_requests',
      responses: '/tmp/speech_session_responses',
      status: '/tmp/session_daemon_status.json',
      marker: '/tmp/session_daemon_active',
      log: '/tmp/session_daemon.log',
    });
  });

  it('default to a private per-user dir: $XDG_RUNTIME_DIR/echolog, else ~/.cache/echolog/run', () => {
    expect(defaultIpcRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/a')).toBe('/run/user/1000/echolog');
    expect(defaultIpcRoot({}, '/home/a')).toBe('/home/a/.cache/echolog/run');
    expect(defaultIpcRoot({ XDG_RUNTIME_DIR: 'relative' }, '/home/a')).toBe('/home/a/.cache/echolog/run');
    const where = { env: { XDG_RUNTIME_DIR: '/run/user/7' }, home: '/home/a', cwd: '/cwd' };
    expect(ipcPathsFor('~/ipc', where).root).toBe('/home/a/ipc');
    expect(ipcPathsFor('ipc', where).status).toBe('/cwd/ipc/session_daemon_status.json');
    expect(ipcPathsFor('', where).root).toBe('/run/user/7/echolog');
  });
});

describe('requests', () => {
  it('take the seed example as is', () => {
    const text =
      '{\n    "id": "1756080306440117328",\n    "audio_file": "/tmp/recorded_audio_1756080302547.wav",\n    "timestamp": 1756080306.440\n}';
    expect(parseRequest(text)).toEqual({
      ok: true,
      request: { id: '1756080306440117328', audio_file: '/tmp/recorded_audio_1756080302547.wav', timestamp: 1756080306.44 },
    });
  });

  it.each([
    ['{"id": "1", "audio_file": "/a.wav"', /not JSON/],
    ['', /not JSON/],
    ['[1]', /expected a JSON object/],
    ['{"id": 1, "audio_file": "/a.wav", "timestamp": 1}', /id 1 must be a string/],
    ['{"id": "../x", "audio_file": "/a.wav", "timestamp": 1}', /id "..\/x" must be/],
    ['{"id": "1", "audio_file": "a.wav", "timestamp": 1}', /audio_file "a.wav" must be an absolute path/],
    ['{"id": "1", "audio_file": "/a.wav", "timestamp": "now"}', /timestamp "now" must be a number/],
  ])('refuse %j, naming the bad value', (text, why) => {
    const parsed = parseRequest(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(why);
  });

  it('are files named {id}.json; temp files of atomic writers and unsafe names are not requests', () => {
    expect(requestIdOfFile('1756080306440117328.json')).toBe('1756080306440117328');
    expect(requestIdOfFile('1756.json.123.abcd.tmp')).toBeUndefined();
    expect(requestIdOfFile('.json')).toBeUndefined();
    expect(requestIdOfFile('..json')).toBeUndefined();
    expect(requestIdOfFile('notes.txt')).toBeUndefined();
  });
});

describe('responses, marker and status', () => {
  it('a response has the seed fields, `error` only when there is one, and reads back', () => {
    const ok = buildResponse('7', ['hello'], 1756080307017, 'cpu', true);
    expect(ok).toEqual({ id: '7', results: ['hello'], timestamp: 1756080307.017, device: 'cpu', session_active: true });
    const failed = buildResponse('7', [], 1756080307017, 'cpu', true, 'Audio file not found: /x.wav');
    expect(Object.keys(failed)).toEqual(['id', 'results', 'timestamp', 'device', 'session_active', 'error']);
    expect(parseResponse(JSON.parse(JSON.stringify(failed)))).toEqual(failed);
    expect(parseResponse({ id: '7', results: [1] })).toBeUndefined();
  });

  it('a marker or status from disk is validated', () => {
    expect(parseMarker({ started: 1756080009.563, pid: 172849 })).toEqual({ started: 1756080009.563, pid: 172849 });
    expect(parseMarker({ started: 1, pid: 1 })).toBeUndefined();
    expect(parseMarker({ started: 1, pid: '12' })).toBeUndefined();
    expect(parseStatus({ active: true, model_loaded: true, timestamp: 1, pid: -1 })).toBeUndefined();
    const seed = {
      active: true,
      model_loaded: true,
      device: 'cuda',
      model_size: 'large-v3',
      processing: false,
      last_activity: 1756080307.017,
      session_timeout: 600,
      timestamp: 1756080307.018,
      pid: 172849,
    };
    expect(parseStatus(seed)).toEqual(seed);
  });
});

describe('readiness (seed 001 on the seed-004 files)', () => {
  const now = 1_800_000_000_000;
  const marker = { started: now / 1000 - 100, pid: 4242 };
  const status: DaemonStatus = {
    active: true,
    model_loaded: true,
    device: 'cpu',
    model_size: 'en-us',
    processing: false,
    last_activity: now / 1000 - 10,
    session_timeout: 600,
    timestamp: now / 1000 - 2,
    pid: 4242,
  };

  const daemon = { kind: 'daemon' } as const;

  it('ready: marker, live pid, fresh status of that pid with the model loaded', () => {
    expect(judgeLiveness({ marker, status, process: daemon, nowMs: now }).state).toBe('ready');
  });

  it.each([
    ['no marker', { marker: undefined }, 'absent', undefined],
    ['a dead pid', { process: { kind: 'not_running' } as const }, 'not_ready', /not running \(a stale marker\)/],
    [
      'a pid reused by another process',
      { process: { kind: 'other', cmdline: 'sleep 60' } as const },
      'not_ready',
      /not a session daemon \(its command line is "sleep 60"\): a stale marker/,
    ],
    [
      "another account's marker",
      { marker: { untrusted: '/tmp/session_daemon_active is owned by uid 65534, not by you (uid 0)' } },
      'not_ready',
      /^the marker .* owned by uid 65534.*; it is not believed$/,
    ],
    [
      "another account's status",
      { status: { untrusted: '/tmp/session_daemon_status.json is owned by uid 65534, not by you (uid 0)' } },
      'not_ready',
      /^the status .* owned by uid 65534/,
    ],
    ['a garbage marker', { marker: 'invalid' as const }, 'not_ready', /not \{started, pid\}/],
    ['no status', { status: undefined }, 'not_ready', /no readable/],
    ['another pid in the status', { status: { ...status, pid: 5 } }, 'not_ready', /from pid 5/],
    ['an old status', { status: { ...status, timestamp: now / 1000 - 16 } }, 'not_ready', /16 s old/],
    ['a model loading', { status: { ...status, model_loaded: false } }, 'not_ready', /still loading/],
    ['a daemon shutting down', { status: { ...status, active: false } }, 'not_ready', /shutting down/],
  ])('%s', (_name, change, state, why) => {
    const verdict = judgeLiveness({ marker, status, process: daemon, nowMs: now, ...change });
    expect(verdict.state).toBe(state);
    if (why && verdict.state === 'not_ready') expect(verdict.why).toMatch(why);
  });

  it("only a dead, reused or garbage marker is stale (may be replaced); another account's is not, and is foreign", () => {
    expect(judgeLiveness({ marker, status, process: { kind: 'not_running' }, nowMs: now })).toMatchObject({ stale: true });
    expect(judgeLiveness({ marker, status, process: { kind: 'other', cmdline: 'sleep' }, nowMs: now })).toMatchObject({ stale: true });
    expect(judgeLiveness({ marker, status: { ...status, model_loaded: false }, process: daemon, nowMs: now })).toMatchObject({
      stale: false,
    });
    expect(judgeLiveness({ marker: { untrusted: 'x' }, status, process: daemon, nowMs: now })).toMatchObject({
      stale: false,
      foreign: true,
    });
  });
});

describe('IPC root safety', () => {
  const stat = (mode: number, uid: number, kind: 'dir' | 'link' | 'file' = 'dir') => ({
    mode,
    uid,
    isSymbolicLink: () => kind === 'link',
    isDirectory: () => kind === 'dir',
  });

  it('a private dir of ours is used; /tmp-like (sticky, world-writable, root-owned) is shared', () => {
    expect(judgeRoot(stat(0o40700, 1000), 1000)).toEqual({ kind: 'private' });
    expect(judgeRoot(stat(0o41777, 0), 1000)).toEqual({ kind: 'shared' });
  });

  it.each([
    ['a symlink', stat(0o120777, 1000, 'link'), /symlink/],
    ['a file', stat(0o100600, 1000, 'file'), /not a directory/],
    ['group-writable', stat(0o40770, 1000), /writable by group/],
    ['world-writable without the sticky bit', stat(0o40777, 1000), /writable by group and others/],
    ["another user's", stat(0o40700, 1001), /owned by uid 1001/],
    ["another user's sticky dir", stat(0o41777, 1001), /owned by uid 1001/],
  ])('refuses %s', (_name, s, why) => {
    const verdict = judgeRoot(s, 1000);
    expect(verdict.kind).toBe('refused');
    if (verdict.kind === 'refused') expect(verdict.why).toMatch(why);
  });

  it('request and response dirs must be ours, real and private', () => {
    expect(judgeSubdir(stat(0o40700, 1000), 1000)).toBeUndefined();
    expect(judgeSubdir(stat(0o40777, 1000), 1000)).toMatch(/writable/);
    expect(judgeSubdir(stat(0o40700, 1001), 1000)).toMatch(/owned by uid 1001/);
    expect(judgeSubdir(stat(0o120777, 1000, 'link'), 1000)).toMatch(/symlink/);
  });
});

describe('the daemon, pure parts', () => {
  it('reads a 16 kHz mono s16 WAV directly, to the end of the file when its sizes are placeholders', () => {
    const wav = { sampleRate: 16000, channels: 1, bitsPerSample: 16, dataOffset: 44, dataBytes: 3200, riffFileBytes: 3244 };
    expect(engineFormatSpan(wav, 3244)).toEqual({ start: 44, end: 3244 });
    expect(engineFormatSpan({ ...wav, dataBytes: 0xffffffff }, 1045)).toEqual({ start: 44, end: 1044 });
    expect(engineFormatSpan({ ...wav, sampleRate: 44100 }, 3244)).toBeUndefined();
    expect(engineFormatSpan({ ...wav, channels: 2 }, 3244)).toBeUndefined();
  });

  it('start failure: the reason of that pid’s daemon_failed line', () => {
    const line = (pid: number, reason: string) =>
      formatLogLine({ time: new Date(0), level: 'ERROR', logger: 'echolog.daemon', message: 'daemon_failed', fields: { pid, reason } });
    const log = [line(10, 'old'), 'a stray stack trace line', line(11, 'pocketsphinx is not installed'), ''].join('\n');
    expect(startFailureOf(log, 11)).toBe('pocketsphinx is not installed');
    expect(startFailureOf(log, 12)).toBeUndefined();
  });

  it('flags: --timeout > 0 (default 600), --engine pocketsphinx or whisper', () => {
    expect(parseSessionTimeout(undefined)).toBe(600);
    expect(parseSessionTimeout(2.5)).toBe(2.5);
    expect(() => parseSessionTimeout(0)).toThrow(/--timeout 0 is not allowed: expected seconds of inactivity > 0/);
    expect(parseHostedEngine('whisper')).toBe('whisper');
    expect(parseHostedEngine(undefined)).toBeUndefined();
    expect(() => parseHostedEngine('daemon')).toThrow(
      /--engine "daemon" is not allowed for the daemon: expected one of pocketsphinx, whisper, openai/,
    );
  });

  it('a zombie (exited, not reaped by a container init) is not a running daemon', () => {
    expect(parseState('4242 (node) Z 1 4242 4242 0 -1 4194564')).toBe('Z');
    expect(parseState('4242 (my) (daemon)) S 1 4242')).toBe('S');
    expect(parseState('garbage')).toBeUndefined();
  });

  it('stop signals only a process whose command line is a session daemon', () => {
    expect(looksLikeSessionDaemon(['/usr/bin/node', '/x/echolog/bin/echolog', 'daemon', 'start', '--foreground'])).toBe(true);
    expect(looksLikeSessionDaemon(['./venv/bin/python3', 'src/session_daemon.py', '600'])).toBe(true);
    expect(looksLikeSessionDaemon(['/usr/bin/vim', 'notes'])).toBe(false);
    expect(looksLikeSessionDaemon(undefined)).toBe(false);
  });

  it('status line', () => {
    const status: DaemonStatus = {
      active: true,
      model_loaded: true,
      device: 'cpu',
      model_size: 'en-us',
      processing: false,
      last_activity: 100,
      session_timeout: 600,
      timestamp: 110,
      pid: 42,
    };
    expect(formatDaemonStatus({ root: '/r', state: 'ready', pid: 42, status }, 112_000)).toBe(
      'daemon: ready, pid 42, en-us on cpu, idle, last activity 12 s ago, stops after 600 s idle (root /r)',
    );
    expect(formatDaemonStatus({ root: '/r', state: 'absent' }, 0)).toBe('daemon: not running (root /r)');
    expect(formatDaemonStatus({ root: '/r', state: 'not_ready', why: 'the daemon is still loading its model' }, 0)).toBe(
      'daemon: not ready, the daemon is still loading its model (root /r)',
    );
  });
});

describe('request watcher and status writer, on real files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-daemon-units-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports request files once, in arrival order (mtime, then name); not temp files; again after forget', async () => {
    const requests = path.join(dir, 'requests');
    fs.mkdirSync(requests);
    // Present before the watcher starts: ordered by mtime, not by name.
    for (const [name, age] of [
      ['300.json', 30],
      ['100.json', 10],
      ['200.json', 20],
    ] as const) {
      fs.writeFileSync(path.join(requests, name), '{}');
      const t = new Date(Date.now() - age * 1000);
      fs.utimesSync(path.join(requests, name), t, t);
    }
    fs.writeFileSync(path.join(requests, '400.json.123.abcd.tmp'), '{}');
    const seen: string[] = [];
    const watcher = new RequestWatcher(requests, (file) => seen.push(path.basename(file)), 100_000);
    watcher.start();
    try {
      await waitForCount(seen, 3);
      expect(seen).toEqual(['300.json', '200.json', '100.json']);
      // A new one is reported by inotify (the poll is 100 s here); a known one is not reported again.
      fs.writeFileSync(path.join(requests, '500.json'), '{}');
      await waitForCount(seen, 4);
      watcher.forget(path.join(requests, '300.json'));
      fs.utimesSync(path.join(requests, '300.json'), new Date(), new Date());
      await waitForCount(seen, 5);
      expect(seen.slice(3)).toEqual(['500.json', '300.json']);
    } finally {
      watcher.close();
    }
  });

  it('the status file holds the latest state after a burst of changes, with a fresh timestamp', async () => {
    const file = path.join(dir, 'status.json');
    const errors: Error[] = [];
    const writer = new StatusWriter(
      file,
      {
        active: true,
        model_loaded: false,
        device: 'cpu',
        model_size: 'en-us',
        processing: false,
        last_activity: 1,
        session_timeout: 600,
        pid: 4242,
      },
      (e) => errors.push(e),
    );
    for (let i = 0; i < 50; i++) writer.update({ processing: i % 2 === 0, last_activity: i });
    writer.update({ model_loaded: true });
    await writer.close();
    const status = parseStatus(JSON.parse(fs.readFileSync(file, 'utf8')));
    expect(status).toMatchObject({ model_loaded: true, processing: false, last_activity: 49, pid: 4242 });
    expect(Math.abs(status!.timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(errors).toEqual([]);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('request audio is read from the one file that was judged, on real files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-daemon-audio-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const format = { sampleRate: 16000 };

  /** A real WAV made by ffmpeg: `source` is a lavfi source (a tone, or digital silence). */
  function wav(name: string, source: string, rate: number, seconds: number): string {
    const file = path.join(dir, name);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `${source}:sample_rate=${rate}`,
      '-t',
      String(seconds),
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      file,
    ]);
    return file;
  }

  async function all(pieces: AsyncIterable<Buffer>): Promise<Buffer> {
    const read: Buffer[] = [];
    for await (const piece of pieces) read.push(piece);
    return Buffer.concat(read);
  }

  /** Whether this process still holds a descriptor on `file`'s (now replaced) inode. */
  function holds(file: string): boolean {
    return fs.readdirSync('/proc/self/fd').some((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false;
      }
    });
  }

  it('a WAV in the engine format: the samples of the file opened, not of one renamed over it afterwards', async () => {
    const file = wav('request.wav', 'sine=frequency=440', 16000, 1);
    const judged = fs.readFileSync(file).subarray(-32000); // the samples: 1 s at 16 kHz, after the header
    const pieces = await openEngineAudio(file, 'ffmpeg', format);
    // Another file (digital silence, same size) takes the path between the judging and the reading.
    fs.renameSync(wav('swapped.wav', 'anullsrc=channel_layout=mono', 16000, 1), file);
    const read = await all(pieces);
    expect(read.length).toBe(32000);
    expect(read.equals(judged)).toBe(true);
    expect(holds(file)).toBe(false);
  });

  it('a WAV ffmpeg converts: ffmpeg decodes the file opened (through /proc/<pid>/fd), not the one renamed over it', async () => {
    const file = wav('other-rate.wav', 'sine=frequency=440', 8000, 1);
    const pieces = await openEngineAudio(file, 'ffmpeg', format);
    fs.renameSync(wav('swapped-3s.wav', 'anullsrc=channel_layout=mono', 8000, 3), file);
    const read = await all(pieces);
    // 1 s at 16 kHz of a tone (the swapped file is 3 s of silence).
    expect(read.length).toBe(32000);
    expect(read.some((byte) => byte !== 0)).toBe(true);
    expect(holds(file)).toBe(false);
  });

  it('a FIFO is answered at once, without waiting for a writer', async () => {
    const fifo = path.join(dir, 'request.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(openEngineAudio(fifo, 'ffmpeg', format)).rejects.toThrow(`Audio file is not a regular file: ${fifo}`);
    expect(holds(fifo)).toBe(false);
  });
});

async function waitForCount(list: unknown[], n: number): Promise<void> {
  for (const deadline = Date.now() + 5000; list.length < n;) {
    if (Date.now() > deadline) throw new Error(`expected ${n} reports, got ${list.length}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

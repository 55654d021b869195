import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, processesMatching, readManifestSync } from './helpers/chunks.js';
import { describeOutcome, formatStatus, formatTranscriptionStatus } from '../src/cli/status-command.js';
import { PEEKABLE_DEFAULTS, peekLayers } from '../src/config/peek-config.js';
import { flattenToDotted } from '../src/config/dotted-keys.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';
import { exitOf, makeSandbox, runCli, SINE, startCli, waitFor } from './helpers/cli.js';

const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const box = makeSandbox();
afterAll(() => box.cleanup());

describe('echolog status and the one-session rule', () => {
  it('shows the recording session and its log; refuses a second record; then shows the last session', async () => {
    const idle = await runCli(['status'], box);
    expect(idle.code).toBe(0);
    expect(idle.stdout).toMatch(/not recording; no sessions/);

    const child = startCli(['record', ...LAVFI, '--segment-time', '1', '--session-id', 'live'], box);
    const dir = path.join(box.recordings, 'live');
    await waitFor(() => (readManifestSync(dir)?.stats.chunks ?? 0) >= 1, 20_000, 'the first chunk logged');
    const logPath = path.join(dir, 'session.log');
    const ffmpegPid = readManifestSync(dir)!.ffmpeg_pid!;
    expect(isAlive(ffmpegPid)).toBe(true);
    expect(processesMatching('echolog-orphan-watchdog', String(ffmpegPid))).toHaveLength(1);

    const text = await runCli(['status'], box);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('recording: live');
    expect(text.stdout).toContain(`pid: ${child.pid}`);
    expect(text.stdout).toMatch(/^chunks: [1-9]\d*$/m);
    expect(text.stdout).toMatch(/^elapsed: /m);
    expect(text.stdout).toContain(`log: ${logPath}\n`);

    const json = await runCli(['status', '--json'], box);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { active: { session_id: string; pid: number; log_path: string; stats: { chunks: number } } };
    expect(report.active).toMatchObject({ session_id: 'live', pid: child.pid, log_path: logPath });
    expect(report.active.stats.chunks).toBeGreaterThanOrEqual(1);

    const second = await runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'second'], box);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('live');
    expect(second.stderr).toMatch(/already recording/);
    // Names the lock and the live pid holding it, so the user knows what to stop.
    expect(second.stderr).toContain(`live pid ${child.pid} holds the lock ${path.join(box.recordings, '.active-session.json')}`);
    expect(fs.readdirSync(box.recordings).filter((name) => !name.startsWith('.'))).toEqual(['live']);

    child.kill('SIGINT');
    expect((await exitOf(child)).code).toBe(130);
    expect(isAlive(ffmpegPid)).toBe(false);
    const after = await runCli(['status'], box);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('not recording');
    expect(after.stdout).toContain('last session: live (completed, user_interrupt)');
    expect(after.stdout).toContain(`log: ${logPath}`);
    const afterJson = JSON.parse((await runCli(['status', '--json'], box)).stdout) as {
      active: unknown;
      last: { session_id: string; log_path: string };
    };
    expect(afterJson.active).toBeNull();
    expect(afterJson.last).toMatchObject({ session_id: 'live', log_path: logPath });
  });
});

/** Every key of a JSON value, nested ones included. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
  return [];
}

describe('echolog status: which session is the last', () => {
  it('the latest started_at, not the last folder name; ties by id; --json in snake_case with the end, chunks and audio', async () => {
    const box = makeSandbox();
    try {
      // A custom id that sorts after every generated one, recorded first.
      const custom = await runCli(
        ['record', ...LAVFI, '--duration', '1', '--segment-time', '1', '--no-realtime', '--session-id', 'zzz'],
        box,
      );
      expect(custom.code, custom.stderr).toBe(0);
      const generated = await runCli(['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime'], box);
      expect(generated.code, generated.stderr).toBe(0);
      const generatedId = fs.readdirSync(box.recordings).find((name) => name !== 'zzz' && !name.startsWith('.'))!;

      const text = await runCli(['status'], box);
      expect(text.stdout).toContain(`last session: ${generatedId} (completed, duration_reached)\n`);
      expect(text.stdout).toMatch(/^chunks: 2 \(00:00:02 of audio\)$/m);
      expect(text.stdout).toMatch(/^ended: \d{4}-\d\d-\d\dT/m);
      expect(text.stdout).toMatch(/^ffmpeg: \/\S+ \(PATH\)$/m);

      const json = JSON.parse((await runCli(['status', '--json'], box)).stdout) as Record<string, any>;
      for (const key of keysOf(json)) expect(key).toMatch(/^[a-z0-9_]+$/);
      expect(json.recordings_dir).toBe(box.recordings);
      expect(json.last).toMatchObject({ session_id: generatedId, stats: { chunks: 2, audio_duration_seconds: 2 } });
      expect(Date.parse(json.last.ended_at)).toBeGreaterThanOrEqual(Date.parse(json.last.started_at));
      expect(json.ffmpeg.source).toBe('PATH');

      // Two sessions of the same second: the later start wins whatever their ids, and equal starts go by id.
      const base = JSON.parse(fs.readFileSync(path.join(box.recordings, generatedId, 'session.json'), 'utf8'));
      const later = new Date(Date.parse(base.started_at) + 60_000);
      const second = later.toISOString().slice(0, 19);
      const writeSession = (id: string, startedAt: string): void => {
        fs.mkdirSync(path.join(box.recordings, id));
        fs.writeFileSync(path.join(box.recordings, id, 'session.json'), JSON.stringify({ ...base, session_id: id, started_at: startedAt }));
      };
      writeSession('same-second-b', `${second}.900Z`);
      writeSession('same-second-c', `${second}.100Z`);
      expect((await runCli(['status'], box)).stdout).toContain('last session: same-second-b ');
      writeSession('same-second-a', `${second}.900Z`);
      expect((await runCli(['status'], box)).stdout).toContain('last session: same-second-b ');
      writeSession('same-second-z', `${second}.900Z`);
      expect((await runCli(['status'], box)).stdout).toContain('last session: same-second-z ');
    } finally {
      box.cleanup();
    }
  });

  it('a folder whose session.json is garbage, empty, not a session, unreadable or missing is no session; nor is a dot folder', async () => {
    const box = makeSandbox();
    try {
      const real = await runCli(
        ['record', ...LAVFI, '--duration', '1', '--segment-time', '1', '--no-realtime', '--session-id', 'real'],
        box,
      );
      expect(real.code, real.stderr).toBe(0);
      // Dated 2099 where a date is given: a fake listed by mistake would be the last session.
      const folder = (name: string): string => {
        fs.mkdirSync(path.join(box.recordings, name));
        return path.join(box.recordings, name, 'session.json');
      };
      fs.writeFileSync(folder('zz-garbage'), '\0\0garbage');
      fs.writeFileSync(folder('zz-empty'), '');
      fs.writeFileSync(folder('zz-other'), JSON.stringify({ started_at: '2099-01-01T00:00:00Z', tool: 'another' }));
      fs.mkdirSync(folder('zz-eisdir')); // a folder where the file should be: unreadable even for root
      fs.symlinkSync('session.json', folder('zz-eloop')); // a link to itself
      folder('zz-none');
      const manifest = JSON.parse(fs.readFileSync(path.join(box.recordings, 'real', 'session.json'), 'utf8'));
      fs.writeFileSync(folder('.zz-dot'), JSON.stringify({ ...manifest, session_id: '.zz-dot', started_at: '2099-01-01T00:00:00Z' }));
      const text = await runCli(['status'], box);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('last session: real (completed, duration_reached)\n');
      const json = JSON.parse((await runCli(['status', '--json'], box)).stdout) as { last: { session_id: string } };
      expect(json.last.session_id).toBe('real');
    } finally {
      box.cleanup();
    }
  });

  it('names where ffmpeg comes from: ECHOLOG_FFMPEG is env', async () => {
    const box = makeSandbox();
    try {
      const ffmpeg = fs.realpathSync('/usr/bin/ffmpeg');
      const result = await runCli(['status', '--json'], box, { ECHOLOG_FFMPEG: ffmpeg });
      expect(JSON.parse(result.stdout).ffmpeg).toEqual({ path: ffmpeg, source: 'env' });
      const missing = await runCli(['status'], box, { ECHOLOG_FFMPEG: path.join(box.root, 'nope') });
      expect(missing.code).toBe(0);
      expect(missing.stdout).toContain(`ffmpeg: ffmpeg not found: ECHOLOG_FFMPEG ${path.join(box.root, 'nope')} is not an executable file`);
    } finally {
      box.cleanup();
    }
  });
});

describe('status text', () => {
  const manifest = {
    session_id: 's1',
    status: 'interrupted',
    pid: 1,
    ffmpeg_pid: null,
    pid_start_ticks: null,
    ffmpeg_start_ticks: null,
    started_at: '2026-11-22T03:00:00.000Z',
    ended_at: null,
    stop_reason: 'interrupted',
    error: null,
    log_path: '/r/s1/session.log',
    log_level: 'info',
    device: 'd',
    input_format: 'lavfi',
    sample_rate: 16000,
    channels: 1,
    segment_time: 1,
    stats: { chunks: 1, audio_duration_seconds: 1, utterance_count: 1, word_count: 2 },
  } as const;
  const ffmpeg = { path: '/usr/bin/ffmpeg', source: 'PATH' } as const;

  it('says a reason that repeats the status once', () => {
    const text = formatStatus({ recordings_dir: '/r', active: null, last: { ...manifest }, ffmpeg });
    expect(text).toContain('last session: s1 (interrupted)\n');
    expect(text).toContain('ended: (not recorded)\n');
    expect(text).toContain('ffmpeg: /usr/bin/ffmpeg (PATH)\n');
    expect(describeOutcome({ status: 'completed', stop_reason: 'user_interrupt' })).toBe('completed, user_interrupt');
    expect(describeOutcome({ status: 'error', stop_reason: null })).toBe('error');
  });

  it('pluralises utterances and chunks', () => {
    const t = {
      engine: 'pocketsphinx',
      model: '',
      state: 'running',
      transcribed_chunks: 3,
      silent_chunks: 0,
      failed_chunks: 0,
      pending_chunks: 1,
      lag_seconds: 1,
      realtime_factor: null,
      utterance_count: 1,
      word_count: 2,
    } as const;
    expect(formatTranscriptionStatus(t)).toBe('transcription: pocketsphinx, 1 chunk pending (lag 1.0 s), 1 utterance');
  });
});

describe('the config status reads without the schema', () => {
  it("has the schema's defaults", () => {
    const defaults = flattenToDotted(DEFAULT_CONFIG);
    for (const [key, value] of Object.entries(PEEKABLE_DEFAULTS)) expect(defaults[key], key).toBe(value);
  });
  it('takes flags over env over the file over defaults, and says which', () => {
    const file = {
      path: '/x/echolog.conf',
      values: { recordings_dir: '/from/file', ffmpeg: { path: null }, transcription: { daemon_ipc_root: '/run/d' } },
    };
    expect(peekLayers({ file, env: {}, flags: {} })).toEqual({
      recordings_dir: { value: '/from/file', source: 'file' },
      'ffmpeg.path': { value: '', source: 'default' },
      'transcription.daemon_ipc_root': { value: '/run/d', source: 'file' },
    });
    expect(peekLayers({ file, env: { recordings_dir: '/env', 'ffmpeg.path': '/ff' }, flags: {} })).toEqual({
      recordings_dir: { value: '/env', source: 'env' },
      'ffmpeg.path': { value: '/ff', source: 'env' },
      'transcription.daemon_ipc_root': { value: '/run/d', source: 'file' },
    });
    expect(peekLayers({ file, env: { recordings_dir: '/env' }, flags: { recordings_dir: '/flag' } }).recordings_dir).toEqual({
      value: '/flag',
      source: 'flag',
    });
  });
  it('refuses a value of the wrong type, naming the file and the key', () => {
    const file = { path: '/x/echolog.conf', values: { recordings_dir: 5 } };
    expect(() => peekLayers({ file, env: {}, flags: {} })).toThrow(ConfigError);
    expect(() => peekLayers({ file, env: {}, flags: {} })).toThrow(
      'config file /x/echolog.conf: recordings_dir: 5 is not allowed: expected a non-empty string',
    );
  });
  it('a bad recordings_dir in the config file: status exits 2 and names it', async () => {
    const box = makeSandbox();
    try {
      fs.writeFileSync(path.join(box.home, 'echolog.conf'), 'recordings_dir: [1, 2]\n');
      const result = await runCli(['status'], box, { ECHOLOG_RECORDINGS_DIR: '' });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`config file ${path.join(box.home, 'echolog.conf')}: recordings_dir: [1,2] is not allowed`);
    } finally {
      box.cleanup();
    }
  });
});

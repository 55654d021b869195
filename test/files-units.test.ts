import { describe, expect, it } from 'vitest';
import { trustProblem, unusablePathReason } from '../src/files/file-trust.js';
import { judgeIdentity, parseCmdline, parseStartTicks } from '../src/process/process-identity.js';
import { formatLogLine, parseLogLine } from '../src/logging/line-format.js';
import { formatCommandLine, quoteWord } from '../src/recorder/command-line.js';
import { parseActiveLock } from '../src/store/active-lock.js';
import { rebuildManifest, type ManifestEvidence } from '../src/store/manifest-rebuild.js';
import { parseManifest } from '../src/store/session-manifest.js';

describe('parseStartTicks (/proc/<pid>/stat field 22)', () => {
  const tail = 'S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615';
  it('a plain comm', () => expect(parseStartTicks(`123 (ffmpeg) ${tail}`)).toBe(987654));
  it('a comm with spaces and parentheses: fields are counted after the last )', () =>
    expect(parseStartTicks(`123 (a) b (c)) ${tail}`)).toBe(987654));
  it('a comm that looks like fields', () =>
    expect(parseStartTicks(`123 (x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20) ${tail}`)).toBe(987654));
  it('a truncated line', () => expect(parseStartTicks('123 (ffmpeg) S 1 1')).toBeUndefined());
  it('no comm at all', () => expect(parseStartTicks('garbage')).toBeUndefined());
});

describe('parseCmdline', () => {
  it('NUL-separated with a trailing NUL', () => expect(parseCmdline('ffmpeg\0-i\0a b\0')).toEqual(['ffmpeg', '-i', 'a b']));
  it('an empty argument is kept', () => expect(parseCmdline('sh\0\0x\0')).toEqual(['sh', '', 'x']));
});

describe('judgeIdentity', () => {
  const marker = '/r/s1/chunk_%05d.wav';
  const ffmpeg = ['/usr/bin/ffmpeg', '-f', 'segment', marker];
  it('same start time and the session chunk pattern: proven', () =>
    expect(judgeIdentity(500, marker, { procAvailable: true, startTicks: 500, cmdline: ffmpeg }).kind).toBe('proven'));
  it('another start time: the pid was reused', () => {
    const verdict = judgeIdentity(500, marker, { procAvailable: true, startTicks: 900, cmdline: ffmpeg });
    expect(verdict).toMatchObject({ kind: 'other' });
    expect(verdict.kind === 'other' && verdict.why).toMatch(/reused/);
  });
  it("the same start time but another session's ffmpeg", () =>
    expect(
      judgeIdentity(500, marker, { procAvailable: true, startTicks: 500, cmdline: ['/usr/bin/ffmpeg', '/r/s2/chunk_%05d.wav'] }).kind,
    ).toBe('other'));
  it('no start time recorded (older echolog): the command line alone is unproven, never enough for SIGKILL', () => {
    expect(judgeIdentity(null, marker, { procAvailable: true, startTicks: 500, cmdline: ffmpeg }).kind).toBe('unproven');
    expect(judgeIdentity(null, marker, { procAvailable: true, startTicks: 500, cmdline: ['sleep', '60'] }).kind).toBe('other');
  });
  it('no such process', () =>
    expect(judgeIdentity(500, marker, { procAvailable: true, startTicks: undefined, cmdline: undefined }).kind).toBe('other'));
  it('no /proc (macOS): unproven', () =>
    expect(judgeIdentity(500, marker, { procAvailable: false, startTicks: undefined, cmdline: undefined }).kind).toBe('unproven'));
});

describe('trustProblem', () => {
  it("the user's own 0700 dir is trusted", () => expect(trustProblem({ uid: 1000, mode: 0o40700 }, 1000)).toBeUndefined());
  it('0755 is trusted', () => expect(trustProblem({ uid: 1000, mode: 0o100644 }, 1000)).toBeUndefined());
  it('0777 names both writers and the mode', () =>
    expect(trustProblem({ uid: 1000, mode: 0o40777 }, 1000)).toBe('it is writable by group and others (mode 0777)'));
  it('group-writable', () => expect(trustProblem({ uid: 1000, mode: 0o100664 }, 1000)).toBe('it is writable by group (mode 0664)'));
  it('another owner', () =>
    expect(trustProblem({ uid: 12345, mode: 0o100644 }, 1000)).toBe('it is owned by uid 12345, not by you (uid 1000)'));
  it('root-owned only where root is allowed (config files)', () => {
    expect(trustProblem({ uid: 0, mode: 0o100644 }, 1000, true)).toBeUndefined();
    expect(trustProblem({ uid: 0, mode: 0o100644 }, 1000)).toMatch(/owned by uid 0/);
    expect(trustProblem({ uid: 0, mode: 0o100666 }, 1000, true)).toMatch(/writable by group and others/);
  });
  it('no uids (Windows): no check', () => expect(trustProblem({ uid: 0, mode: 0o777 }, undefined)).toBeUndefined());
});

describe('unusablePathReason', () => {
  const err = (code: string, path?: string) => Object.assign(new Error(code), { code, path });
  it.each([
    ['ENOENT', /points to nothing/],
    ['ELOOP', /loop/],
    ['EROFS', /read-only/],
    ['ENOTDIR', /not a directory/],
    ['EEXIST', /not a directory/],
    ['EACCES', /not writable/],
  ])('%s', (code, reason) => expect(unusablePathReason(err(code))).toMatch(reason));
  it('EISDIR names the path', () =>
    expect(unusablePathReason(err('EISDIR', '/r/.active-session.json'))).toBe('/r/.active-session.json is a directory, not a file'));
  it('a fault of the moment is not about the path', () => {
    expect(unusablePathReason(err('ENOSPC'))).toBeUndefined();
    expect(unusablePathReason(new Error('x'))).toBeUndefined();
  });
});

describe('parseActiveLock (a lock from disk is untrusted)', () => {
  it('a valid lock', () =>
    expect(parseActiveLock({ session_id: 's1', pid: 4242, pid_start_ticks: 7 })).toEqual({
      session_id: 's1',
      pid: 4242,
      pid_start_ticks: 7,
    }));
  it('a lock from an older echolog has no start time', () =>
    expect(parseActiveLock({ session_id: 's1', pid: 4242 })).toEqual({ session_id: 's1', pid: 4242 }));
  it.each([
    [{ session_id: '../outside', pid: 4242 }, /session_id "\.\.\/outside" is not a valid session id/],
    [{ session_id: '/etc', pid: 4242 }, /session_id/],
    [{ session_id: 's1', pid: -1 }, /pid -1 is not a valid process id/],
    [{ session_id: 's1', pid: 0 }, /pid 0/],
    [{ session_id: 's1', pid: '4242' }, /pid "4242"/],
    [{ session_id: 's1', pid: 4242, pid_start_ticks: 'x' }, /pid_start_ticks/],
    [[], /session_id/],
    [null, /not a JSON object/],
  ])('%j is refused', (value, why) => expect(parseActiveLock(value)).toMatch(why));
});

const GOOD_MANIFEST = {
  session_id: 's1',
  status: 'completed',
  pid: 4242,
  pid_start_ticks: 1,
  ffmpeg_pid: 4243,
  ffmpeg_start_ticks: 2,
  started_at: '2026-01-02T03:04:05.000Z',
  ended_at: null,
  stop_reason: null,
  error: null,
  log_path: '/r/s1/session.log',
  log_level: 'info',
  device: 'd',
  input_format: 'lavfi',
  sample_rate: 16000,
  channels: 1,
  segment_time: 1,
  stats: { chunks: 2, audio_duration_seconds: 2, utterance_count: 0, word_count: 0 },
};

describe('parseManifest (session.json from disk is untrusted)', () => {
  it('a valid manifest', () => expect(parseManifest(GOOD_MANIFEST)).toEqual(GOOD_MANIFEST));
  it('start times absent (an older echolog) read as unknown', () => {
    const { pid_start_ticks: _a, ffmpeg_start_ticks: _b, ...old } = GOOD_MANIFEST;
    expect(parseManifest(old)).toMatchObject({ pid_start_ticks: null, ffmpeg_start_ticks: null });
  });
  it('names every bad field', () =>
    expect(parseManifest({ ...GOOD_MANIFEST, session_id: '../x', pid: 1, stats: null })).toBe('invalid session_id, pid, stats'));
  it('not an object', () => expect(parseManifest('x')).toBe('it is not a JSON object'));
});

describe('rebuildManifest', () => {
  const start = {
    session_id: 's1',
    start_time: '2026-01-02T03:04:05.000Z',
    device: 'sine',
    input_format: 'lavfi',
    sample_rate: '16000',
    channels: '1',
    segment_time: '1',
    log_level: 'debug',
    pid: '4242',
  };
  const rows = [1, 2, 3].map((n) => ({ file: `chunk_0000${n}.wav`, start: n - 1, end: n }));
  const evidence = (over: Partial<ManifestEvidence> = {}): ManifestEvidence => ({
    dirName: 's1',
    logPath: '/r/s1/session.log',
    start,
    rows,
    logged: new Map([
      ['chunk_00001.wav', { durationSeconds: 1, offsetSeconds: 0 }],
      ['chunk_00002.wav', { durationSeconds: 1.004, offsetSeconds: 1 }],
    ]),
    ...over,
  });

  it('a session that was recording: counts the chunks logged in order, keeps its pid, level and ffmpeg pid', () => {
    expect(rebuildManifest(evidence({ ffmpegPid: '4243' }))).toMatchObject({
      session_id: 's1',
      status: 'recording',
      pid: 4242,
      pid_start_ticks: null,
      ffmpeg_pid: 4243,
      ffmpeg_start_ticks: null,
      started_at: start.start_time,
      log_level: 'debug',
      sample_rate: 16000,
      channels: 1,
      segment_time: 1,
      stats: { chunks: 2, audio_duration_seconds: 2.004, utterance_count: 0, word_count: 0 },
    });
  });
  it.each([
    ['duration_reached', 'completed'],
    ['ffmpeg_exit', 'error'],
    ['device_lost', 'error'],
    ['disk_low', 'error'],
    ['disk_full', 'error'],
    ['a-reason-from-elsewhere', 'error'],
    ['interrupted', 'interrupted'],
  ])('a session_stop with reason %s: status %s, ended_at from its line', (reason, status) =>
    expect(rebuildManifest(evidence({ stop: { reason }, stopTime: '2026-01-02T03:05:00Z' }))).toMatchObject({
      status,
      stop_reason: reason,
      ended_at: '2026-01-02T03:05:00Z',
    }),
  );
  it('a chunk missing from the log ends the count: recovery logs the rest', () =>
    expect(rebuildManifest(evidence({ logged: new Map([['chunk_00002.wav', { durationSeconds: 1, offsetSeconds: 1 }]]) }))).toMatchObject({
      stats: { chunks: 0 },
    }));
  it('no session_start anywhere: why, naming the log', () =>
    expect(rebuildManifest(evidence({ start: undefined }))).toBe('session.log has no session_start line to rebuild it from'));
  it("a session_start of another session (a moved folder) is not this one's", () =>
    expect(rebuildManifest(evidence({ dirName: 's2' }))).toMatch(/session_id "s1" is not the folder's name/));
  it('a session_start with a bad pid', () => expect(rebuildManifest(evidence({ start: { ...start, pid: 'x' } }))).toMatch(/invalid pid/));
  it('an invalid ffmpeg pid is dropped, not signalled later', () =>
    expect(rebuildManifest(evidence({ ffmpegPid: '-1' }))).toMatchObject({ ffmpeg_pid: null }));
});

describe('formatCommandLine (pastes into a POSIX shell)', () => {
  it('safe words stay bare, -c:a included', () =>
    expect(formatCommandLine('/usr/bin/ffmpeg', ['-c:a', 'pcm_s16le', '-ar', '16000'])).toBe('/usr/bin/ffmpeg -c:a pcm_s16le -ar 16000'));
  it('single quotes, no backslash escapes', () => expect(quoteWord('a b$HOME*')).toBe("'a b$HOME*'"));
  it("a ' inside becomes '\\''", () => expect(quoteWord("it's")).toBe("'it'\\''s'"));
  it("lavfi's \\: escapes are kept as they are", () =>
    expect(quoteWord('value=a\\:b,pan=mono|c0=c0')).toBe("'value=a\\:b,pan=mono|c0=c0'"));
  it('the empty word', () => expect(quoteWord('')).toBe("''"));
});

describe('log values keep single backslashes (a logged command pastes as is)', () => {
  const line = (value: string) => formatLogLine({ time: new Date(0), level: 'INFO', logger: 'l', message: 'm', fields: { v: value } });
  it.each(['a\\:b c', 'x\\', 'n\\n', 'u\\u0041 z', '\\\\:', 'q"u\\"', 'tab\t\\x'])('%j round-trips', (value) =>
    expect(parseLogLine(line(value))?.fields.v).toBe(value),
  );
  it('\\: is written once', () => expect(line("'a\\:b'")).toContain(`v="'a\\:b'"`));
  it('a line written with JSON escapes (before this change) still parses', () =>
    expect(parseLogLine('1970-01-01T00:00:00Z INFO l: m v="a\\\\:b \\"q\\""')?.fields.v).toBe('a\\:b "q"'));
});

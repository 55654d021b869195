import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLine, type ParsedLogLine } from '../src/logging/line-format.js';
import { LogFile } from '../src/logging/log-file.js';
import {
  planRotation,
  sizeRolloverDue,
  sizeRolloverRenames,
  type RotationConfig,
  type RotationPlan,
} from '../src/logging/rotation-options.js';
import {
  backupPattern,
  backupSuffix,
  backupsToDelete,
  nextRollover,
  periodStart,
  type TimeRotationRule,
} from '../src/logging/time-rotation.js';
import { exitOf, makeSandbox, onlySessionDir, runCli, SINE, startCli, waitFor } from './helpers/cli.js';

const utc = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('time rotation: boundaries and names as Python TimedRotatingFileHandler', () => {
  const rule = (when: TimeRotationRule['when'], isUtc = true): TimeRotationRule => ({ when, utc: isUtc });

  it('S/M/H/D roll over one unit after the file was opened, in whole seconds', () => {
    const opened = utc('2026-11-22T03:42:26.700Z');
    expect(iso(nextRollover(rule('S'), opened))).toBe('2026-11-22T03:42:27.000Z');
    expect(iso(nextRollover(rule('M'), opened))).toBe('2026-11-22T03:43:26.000Z');
    expect(iso(nextRollover(rule('H'), opened))).toBe('2026-11-22T04:42:26.000Z');
    expect(iso(nextRollover(rule('D'), opened))).toBe('2026-11-23T03:42:26.000Z');
  });

  it('midnight rolls over at the next 00:00 (UTC when utc)', () => {
    expect(iso(nextRollover(rule('midnight'), utc('2026-11-22T03:42:26Z')))).toBe('2026-11-23T00:00:00.000Z');
    expect(iso(nextRollover(rule('midnight'), utc('2026-11-22T00:00:00Z')))).toBe('2026-11-23T00:00:00.000Z');
    expect(iso(nextRollover(rule('midnight'), utc('2026-12-31T23:59:59Z')))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('W0–W6 roll over at the midnight that ends that weekday (0 = Monday), as CPython computes it', () => {
    // 2026-11-22 is a Sunday, 2026-11-23 a Monday.
    expect(iso(nextRollover(rule('W6'), utc('2026-11-22T03:00:00Z')))).toBe('2026-11-23T00:00:00.000Z'); // today is Sunday
    expect(iso(nextRollover(rule('W0'), utc('2026-11-22T03:00:00Z')))).toBe('2026-11-24T00:00:00.000Z'); // end of Monday
    expect(iso(nextRollover(rule('W0'), utc('2026-11-23T12:00:00Z')))).toBe('2026-11-24T00:00:00.000Z'); // Monday itself
    expect(iso(nextRollover(rule('W0'), utc('2026-11-24T00:00:00Z')))).toBe('2026-12-01T00:00:00.000Z'); // just rolled: next week
    expect(iso(nextRollover(rule('W2'), utc('2026-11-27T08:00:00Z')))).toBe('2026-12-03T00:00:00.000Z'); // Friday → end of Wednesday
    for (const day of [0, 1, 2, 3, 4, 5, 6]) {
      const at = nextRollover(rule(`W${day}` as TimeRotationRule['when']), utc('2026-11-25T10:00:00Z'));
      expect((new Date(at).getUTCDay() + 6) % 7).toBe((day + 1) % 7); // 00:00 of the day after weekday `day`
    }
  });

  it('names a backup after the start of its period with Python suffixes', () => {
    const at = utc('2026-11-22T03:42:27Z');
    expect(backupSuffix(rule('S'), periodStart(rule('S'), at))).toBe('2026-11-22_03-42-26');
    expect(backupSuffix(rule('M'), periodStart(rule('M'), utc('2026-11-22T03:43:26Z')))).toBe('2026-11-22_03-42');
    expect(backupSuffix(rule('H'), periodStart(rule('H'), utc('2026-11-22T04:42:26Z')))).toBe('2026-11-22_03');
    expect(backupSuffix(rule('D'), periodStart(rule('D'), utc('2026-11-23T03:42:26Z')))).toBe('2026-11-22');
    expect(backupSuffix(rule('midnight'), periodStart(rule('midnight'), utc('2026-11-23T00:00:00Z')))).toBe('2026-11-22');
    expect(backupSuffix(rule('W0'), periodStart(rule('W0'), utc('2026-11-24T00:00:00Z')))).toBe('2026-11-17');
  });

  it('uses the local time zone when utc is false, with calendar days across a DST change', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Europe/Berlin'; // DST ends 2026-10-25 03:00 CEST → 02:00 CET
    try {
      const local = rule('midnight', false);
      const at = nextRollover(local, utc('2026-10-24T20:00:00Z')); // 22:00 CEST
      expect(iso(at)).toBe('2026-10-24T22:00:00.000Z'); // 00:00 CEST on the 25th
      const next = nextRollover(local, at);
      expect(iso(next)).toBe('2026-10-25T23:00:00.000Z'); // a 25-hour day: 00:00 CET on the 26th
      expect(backupSuffix(local, periodStart(local, next))).toBe('2026-10-25');
      expect(backupSuffix(rule('H', false), utc('2026-11-22T03:00:00Z'))).toBe('2026-11-22_04');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('keeps the newest backup_count backups; 0 keeps all, as Python', () => {
    const names = [
      'session.log',
      'segments.csv',
      'session.log.2026-11-22_03-42-28',
      'session.log.2026-11-22_03-42-26',
      'session.log.2026-11-22_03-42-27',
      'session.log.2026-11-22_03-42-27.1',
      'session.log.1',
    ];
    expect(backupsToDelete(names, 'session.log', 'S', 2)).toEqual(['session.log.2026-11-22_03-42-26', 'session.log.2026-11-22_03-42-27']);
    expect(backupsToDelete(names, 'session.log', 'S', 0)).toEqual([]);
    expect(backupPattern('session.log', 'D').test('session.log.2026-11-22')).toBe(true);
    expect(backupPattern('session.log', 'D').test('session.log.1')).toBe(false);
  });

  it("planRotation: size keeps max_bytes and backup_count, backup_count 0 or off never rotates, time is Python's rule", () => {
    const base: RotationConfig = { rotation: 'size', max_bytes: 2048, backup_count: 3, time_when: 'S', utc: true };
    expect(planRotation(base)).toEqual({ kind: 'size', maxBytes: 2048, backupCount: 3 });
    expect(planRotation({ ...base, backup_count: 0 })).toEqual({ kind: 'none' });
    expect(planRotation({ ...base, rotation: 'off' })).toEqual({ kind: 'none' });
    expect(planRotation({ ...base, rotation: 'time', backup_count: 0 })).toEqual({
      kind: 'time',
      rule: { when: 'S', utc: true },
      backupCount: 0,
    });
  });
});

describe('size rotation: CPython RotatingFileHandler.shouldRollover / doRollover', () => {
  it('rolls over before the write that would reach max_bytes; never an empty (or header-only) file', () => {
    expect(sizeRolloverDue(900, 0, 100, 1000)).toBe(true); // pos + len(msg) >= maxBytes
    expect(sizeRolloverDue(899, 0, 100, 1000)).toBe(false);
    expect(sizeRolloverDue(0, 0, 5000, 1000)).toBe(false); // gh-116263: a line longer than max_bytes goes into an empty file
    expect(sizeRolloverDue(120, 120, 5000, 1000)).toBe(false); // only the continuation header: same rule
    expect(sizeRolloverDue(121, 120, 5000, 1000)).toBe(true);
  });

  it('renames .N-1 → .N … .1 → .2, then the active file → .1', () => {
    expect(sizeRolloverRenames('/s/session.log', 3)).toEqual([
      ['/s/session.log.2', '/s/session.log.3'],
      ['/s/session.log.1', '/s/session.log.2'],
      ['/s/session.log', '/s/session.log.1'],
    ]);
    expect(sizeRolloverRenames('/s/session.log', 1)).toEqual([['/s/session.log', '/s/session.log.1']]);
  });
});

describe('LogFile on real files', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-logfile-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const format = (level: string, message: string, fields: Record<string, string | number>): string =>
    `${level.toUpperCase()} ${message}${Object.entries(fields)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('')}`;
  const open = (dir: string, plan: RotationPlan, now?: () => number, maxQueuedBytes?: number): LogFile =>
    new LogFile({
      filePath: path.join(dir, 'session.log'),
      plan,
      now,
      maxQueuedBytes,
      formatLine: format,
      onFailure: (error) => {
        throw error;
      },
    });

  it('time (S) on a fake clock: rolls over lazily on the first line after the boundary, keeps backup_count, each new file starts with its header', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'session-t-'));
    let clock = utc('2026-11-22T03:42:26.500Z');
    const file = open(dir, { kind: 'time', rule: { when: 'S', utc: true }, backupCount: 2 }, () => clock);
    const line = (text: string): void => void file.append(text, clock, false);
    line('a1');
    line('a2');
    clock = utc('2026-11-22T03:42:27.100Z');
    line('b1');
    clock = utc('2026-11-22T03:42:31.900Z'); // a quiet spell: one backup, not four
    line('c1');
    clock = utc('2026-11-22T03:42:33.000Z');
    line('d1');
    await file.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['session.log', 'session.log.2026-11-22_03-42-27', 'session.log.2026-11-22_03-42-31']);
    const id = path.basename(dir);
    expect(fs.readFileSync(path.join(dir, 'session.log.2026-11-22_03-42-27'), 'utf8')).toBe(
      `INFO log_continued session_id=${id} file_seq=2 previous=session.log.2026-11-22_03-42-26\nb1\n`,
    );
    expect(fs.readFileSync(path.join(dir, 'session.log.2026-11-22_03-42-31'), 'utf8')).toBe(
      `INFO log_continued session_id=${id} file_seq=3 previous=session.log.2026-11-22_03-42-27\nc1\n`,
    );
    expect(fs.readFileSync(path.join(dir, 'session.log'), 'utf8')).toBe(
      `INFO log_continued session_id=${id} file_seq=4 previous=session.log.2026-11-22_03-42-31\nd1\n`,
    );
  });

  it('size: no backup reaches max_bytes, nothing beyond .N, every line whole and in order, a longer line alone in its file', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'session-s-'));
    const file = open(dir, { kind: 'size', maxBytes: 300, backupCount: 2 });
    const lines = Array.from({ length: 40 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat((i % 7) * 5)}`);
    lines.splice(35, 0, `long ${'y'.repeat(400)}`);
    for (const text of lines) file.append(text, Date.now(), false);
    await file.close();
    const names = fs.readdirSync(dir).sort();
    expect(names).toEqual(['session.log', 'session.log.1', 'session.log.2']);
    const content = ['session.log.2', 'session.log.1', 'session.log'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const text of content.slice(0, 2)) if (!text.includes('long ')) expect(Buffer.byteLength(text)).toBeLessThan(300);
    const kept = content.join('').split('\n').filter(Boolean);
    for (const text of content) expect(text).toMatch(/^INFO log_continued session_id=\S+ file_seq=\d+ previous=session\.log\.1\n/);
    const body = kept.filter((l) => !l.startsWith('INFO log_continued'));
    expect(body).toEqual(lines.slice(lines.length - body.length)); // the newest lines, whole and in order
    expect(content.some((text) => text.split('\n').filter(Boolean).length === 2 && text.includes('long '))).toBe(true);
  });

  it('size: lines logged while a rollover is under way are all kept, in order', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'session-r-'));
    const file = open(dir, { kind: 'size', maxBytes: 1024, backupCount: 200 }); // 200 renames per rollover: slow enough to log during one
    for (let i = 0; i < 600; i++) {
      file.append(`line ${i}`, Date.now(), false);
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await file.close();
    const names = fs
      .readdirSync(dir)
      .filter((f) => f !== 'session.log')
      .sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
    expect(names.length).toBeGreaterThan(3);
    const kept = [...names, 'session.log']
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
      .filter((l) => l.startsWith('line '));
    expect(kept).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i}`));
  });

  it('bounded queue: a burst beyond maxQueuedBytes drops ordinary lines with a count, keeps the must-keep ones', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'session-q-'));
    const file = open(dir, { kind: 'none' }, undefined, 4096);
    for (let i = 0; i < 1000; i++) file.append(`ordinary ${i} ${'z'.repeat(40)}`, Date.now(), false);
    file.append('lifecycle line', Date.now(), true);
    await file.close();
    const kept = fs.readFileSync(path.join(dir, 'session.log'), 'utf8').split('\n').filter(Boolean);
    const dropped = kept.filter((l) => l.startsWith('WARNING log_lines_dropped'));
    expect(dropped).toHaveLength(1);
    const ordinary = kept.filter((l) => l.startsWith('ordinary'));
    expect(ordinary.length).toBeLessThan(1000);
    expect(ordinary.length + Number(/count=(\d+)/.exec(dropped[0]!)![1])).toBe(1000);
    expect(kept).toContain('lifecycle line');
  });
});

/** Lines of one log file, each required to parse. */
function readLines(file: string): ParsedLogLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const parsed = parseLogLine(line);
      if (!parsed) throw new Error(`${path.basename(file)}: line does not parse: ${JSON.stringify(line)}`);
      return parsed;
    });
}

/** Asserts that chunk_created seq numbers run 1 apart with no gap, up to the last chunk. */
function expectContiguousChunks(lines: ParsedLogLine[], lastSeq: number): void {
  const seqs = lines.filter((l) => l.message === 'chunk_created').map((l) => Number(l.fields.seq));
  expect(seqs.length).toBeGreaterThan(0);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  expect(seqs.at(-1)).toBe(lastSeq);
  // The ffmpeg lines that announce each chunk are contiguous too (debug level), so no line fell between files.
  const opened = lines
    .map((l) => /Opening '.*chunk_(\d+)\.wav'/.exec(l.fields.line ?? '')?.[1])
    .filter(Boolean)
    .map(Number);
  expect(opened).toEqual(Array.from({ length: opened.length }, (_, i) => opened[0]! + i));
}

describe('rotation on real recordings', { concurrent: true }, () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());
  const lavfi = ['--input-format', 'lavfi', '--input', SINE];

  it('size: exactly backup_count backups named session.log.1 … .N, whole lines, none lost', async () => {
    const recordings = path.join(sandbox.root, 'size');
    const result = await runCli(
      [
        'record',
        ...lavfi,
        '--no-realtime',
        '--duration',
        '30',
        '--segment-time',
        '1',
        '--log-level',
        'debug',
        '--log-max-bytes',
        '2048',
        '--log-backup-count',
        '3',
        '--recordings-dir',
        recordings,
      ],
      sandbox,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = onlySessionDir(recordings);
    expect(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('session.log'))
        .sort(),
    ).toEqual(['session.log', 'session.log.1', 'session.log.2', 'session.log.3']);
    // Oldest first: .3, .2, .1, then the active file.
    const files = ['session.log.3', 'session.log.2', 'session.log.1', 'session.log'].map((f) => path.join(dir, f));
    const perFile = files.map(readLines);
    for (const [i, file] of files.entries()) {
      // Python rotates before the write that would reach max_bytes: no file reaches it…
      expect(fs.statSync(file).size).toBeLessThan(2048);
      // …and each one says whose it is and what came before it.
      expect(perFile[i]![0]).toMatchObject({
        message: 'log_continued',
        logger: 'echolog.log',
        fields: { session_id: path.basename(dir), previous: 'session.log.1' },
      });
    }
    expect(perFile.map((lines) => Number(lines[0]!.fields.file_seq))).toEqual(
      Array.from({ length: 4 }, (_, i) => Number(perFile[0]![0]!.fields.file_seq) + i),
    );
    // session_start rotated away; session.json keeps its text and the ffmpeg command.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as {
      session_start_line?: string;
      ffmpeg_command?: string;
    };
    expect(parseLogLine(manifest.session_start_line ?? '')?.message).toBe('session_start');
    expect(manifest.ffmpeg_command).toMatch(/ffmpeg.* -f segment /);
    const all = perFile.flat();
    expectContiguousChunks(all, 30);
    expect(all.at(-1)?.message).toBe('session_stop');
    expect(all.at(-1)?.fields.reason).toBe('duration_reached');
    expect(result.stdout).toContain(`Logging to ${path.join(dir, 'session.log')} (level=debug)`);
  });

  it('size with backup_count 0 never rotates (as RotatingFileHandler); off is one file', async () => {
    for (const [name, flags] of [
      ['zero', ['--log-backup-count', '0']],
      ['off', ['--log-rotation', 'off']],
    ] as const) {
      const recordings = path.join(sandbox.root, name);
      const result = await runCli(
        [
          'record',
          ...lavfi,
          '--no-realtime',
          '--duration',
          '10',
          '--segment-time',
          '1',
          '--log-level',
          'debug',
          '--log-max-bytes',
          '1024',
          ...flags,
          '--recordings-dir',
          recordings,
        ],
        sandbox,
      );
      expect(result.code).toBe(0);
      const dir = onlySessionDir(recordings);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('session.log'))).toEqual(['session.log']);
      const lines = readLines(path.join(dir, 'session.log'));
      expect(fs.statSync(path.join(dir, 'session.log')).size).toBeGreaterThan(4 * 1024);
      expect(lines[0]?.message).toBe('session_start');
      expect(lines[0]?.fields.log_rotation).toBe(name === 'off' ? 'off' : 'size');
      expectContiguousChunks(lines, 10);
      expect(lines.at(-1)?.message).toBe('session_stop');
    }
  });

  it('time (time_when S): backups named with their second, at most backup_count, whole lines, none lost', async () => {
    const recordings = path.join(sandbox.root, 'time');
    const config = path.join(sandbox.root, 'time.yaml');
    fs.writeFileSync(config, 'logging:\n  rotation: time\n  time_when: S\n  utc: true\n  backup_count: 2\n');
    const result = await runCli(
      [
        'record',
        ...lavfi,
        '--duration',
        '4',
        '--segment-time',
        '0.25',
        '--log-level',
        'debug',
        '--config',
        config,
        '--recordings-dir',
        recordings,
      ],
      sandbox,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = onlySessionDir(recordings);
    const names = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('session.log'))
      .sort();
    const backups = names.filter((f) => f !== 'session.log');
    expect(names).toContain('session.log');
    expect(backups).toHaveLength(2);
    for (const backup of backups) expect(backup).toMatch(/^session\.log\.\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$/);
    const perFile = [...backups, 'session.log'].map((f) => readLines(path.join(dir, f)));
    // Python names a backup after the second its file was opened: no line in it is older.
    backups.forEach((backup, i) => {
      const opened = backup.slice('session.log.'.length).replace(/_(\d\d)-(\d\d)-(\d\d)$/, 'T$1:$2:$3Z');
      for (const line of perFile[i]!) expect(line.timestamp >= opened).toBe(true);
    });
    const all = perFile.flat();
    expectContiguousChunks(all, 16);
    expect(all.at(-1)?.message).toBe('session_stop');
    expect(result.stdout).toContain(`Logging to ${path.join(dir, 'session.log')} (level=debug)`);
  });

  it('status points at the active session.log while backups are being made', async () => {
    const recordings = path.join(sandbox.root, 'status');
    const config = path.join(sandbox.root, 'status.yaml');
    fs.writeFileSync(config, 'logging:\n  rotation: time\n  time_when: S\n  backup_count: 1\n');
    const child = startCli(
      [
        'record',
        ...lavfi,
        '--duration',
        '30',
        '--segment-time',
        '0.25',
        '--log-level',
        'debug',
        '--config',
        config,
        '--recordings-dir',
        recordings,
      ],
      sandbox,
    );
    const dir = await waitFor(
      () => {
        try {
          const found = onlySessionDir(recordings);
          return fs.readdirSync(found).some((f) => /^session\.log\.\d/.test(f)) && found;
        } catch {
          return undefined;
        }
      },
      20_000,
      'a time-rotated backup',
    );
    const status = await runCli(['status', '--recordings-dir', recordings], sandbox);
    child.kill('SIGINT');
    await exitOf(child);
    expect(status.stdout).toContain(`log: ${path.join(dir, 'session.log')}\n`);
    expect(readLines(path.join(dir, 'session.log')).at(-1)?.message).toBe('session_stop');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLine, type ParsedLogLine } from '../src/logging/line-format.js';
import { planRotation, type RotationConfig } from '../src/logging/rotation-options.js';
import { backupPattern, backupSuffix, backupsToDelete, nextRollover, periodStart, type TimeRotationRule } from '../src/logging/time-rotation.js';
import { TimedRotatingStream } from '../src/logging/timed-rotating-stream.js';
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
    const names = ['session.log', 'segments.csv', 'session.log.2026-11-22_03-42-28', 'session.log.2026-11-22_03-42-26', 'session.log.2026-11-22_03-42-27', 'session.log.2026-11-22_03-42-27.1', 'session.log.1'];
    expect(backupsToDelete(names, 'session.log', 'S', 2)).toEqual(['session.log.2026-11-22_03-42-26', 'session.log.2026-11-22_03-42-27']);
    expect(backupsToDelete(names, 'session.log', 'S', 0)).toEqual([]);
    expect(backupPattern('session.log', 'D').test('session.log.2026-11-22')).toBe(true);
    expect(backupPattern('session.log', 'D').test('session.log.1')).toBe(false);
  });

  it('planRotation: size uses rfs logrotate names, backup_count 0 or off is one plain file, time is ours', () => {
    const base: RotationConfig = { rotation: 'size', max_bytes: 2048, backup_count: 3, time_when: 'S', utc: true };
    expect(planRotation(base, '/s')).toEqual({ kind: 'size', options: { path: '/s', size: '2048B', rotate: 3 } });
    expect(planRotation({ ...base, backup_count: 0 }, '/s')).toEqual({ kind: 'plain' });
    expect(planRotation({ ...base, rotation: 'off' }, '/s')).toEqual({ kind: 'plain' });
    expect(planRotation({ ...base, rotation: 'time', backup_count: 0 }, '/s')).toEqual({ kind: 'time', rule: { when: 'S', utc: true }, backupCount: 0 });
  });
});

describe('TimedRotatingStream on a fake clock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-trs-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rolls over lazily on the first write after the boundary, never splits a line, keeps backup_count', async () => {
    let clock = utc('2026-11-22T03:42:26.500Z');
    const filePath = path.join(dir, 'session.log');
    const stream = new TimedRotatingStream({ filePath, rule: { when: 'S', utc: true }, backupCount: 2, now: () => new Date(clock) });
    const write = (line: string): Promise<void> => new Promise((resolve, reject) => stream.write(`${line}\n`, (e) => (e ? reject(e) : resolve())));
    await write('a1');
    await write('a2');
    clock = utc('2026-11-22T03:42:27.100Z');
    await write('b1');
    clock = utc('2026-11-22T03:42:31.900Z'); // a quiet spell: one backup, not four
    await write('c1');
    clock = utc('2026-11-22T03:42:33.000Z');
    await write('d1');
    stream.end();
    await once(stream, 'finish');
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['session.log', 'session.log.2026-11-22_03-42-27', 'session.log.2026-11-22_03-42-31']);
    expect(fs.readFileSync(path.join(dir, 'session.log.2026-11-22_03-42-27'), 'utf8')).toBe('b1\n');
    expect(fs.readFileSync(path.join(dir, 'session.log.2026-11-22_03-42-31'), 'utf8')).toBe('c1\n');
    expect(fs.readFileSync(filePath, 'utf8')).toBe('d1\n');
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
  const opened = lines.map((l) => /Opening '.*chunk_(\d+)\.wav'/.exec(l.fields.line ?? '')?.[1]).filter(Boolean).map(Number);
  expect(opened).toEqual(Array.from({ length: opened.length }, (_, i) => opened[0]! + i));
}

describe('rotation on real recordings', { concurrent: true }, () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());
  const lavfi = ['--input-format', 'lavfi', '--input', SINE];

  it('size: exactly backup_count backups named session.log.1 … .N, whole lines, none lost', async () => {
    const recordings = path.join(sandbox.root, 'size');
    const result = await runCli(['record', ...lavfi, '--no-realtime', '--duration', '30', '--segment-time', '1', '--log-level', 'debug', '--log-max-bytes', '2048', '--log-backup-count', '3', '--recordings-dir', recordings], sandbox);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = onlySessionDir(recordings);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('session.log')).sort()).toEqual(['session.log', 'session.log.1', 'session.log.2', 'session.log.3']);
    // Oldest first: .3, .2, .1, then the active file.
    const files = ['session.log.3', 'session.log.2', 'session.log.1', 'session.log'].map((f) => path.join(dir, f));
    const perFile = files.map(readLines);
    const longest = Math.max(...files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').map((l) => Buffer.byteLength(l) + 1)));
    for (const file of files.slice(0, -1)) {
      expect(fs.statSync(file).size).toBeGreaterThanOrEqual(2048); // rfs rotates once the size is reached…
      expect(fs.statSync(file).size).toBeLessThan(2048 + longest); // …right after the write that reached it
    }
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
      const result = await runCli(['record', ...lavfi, '--no-realtime', '--duration', '10', '--segment-time', '1', '--log-level', 'debug', '--log-max-bytes', '1024', ...flags, '--recordings-dir', recordings], sandbox);
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
    const result = await runCli(['record', ...lavfi, '--duration', '4', '--segment-time', '0.25', '--log-level', 'debug', '--config', config, '--recordings-dir', recordings], sandbox);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = onlySessionDir(recordings);
    const names = fs.readdirSync(dir).filter((f) => f.startsWith('session.log')).sort();
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
    const child = startCli(['record', ...lavfi, '--duration', '30', '--segment-time', '0.25', '--log-level', 'debug', '--config', config, '--recordings-dir', recordings], sandbox);
    const dir = await waitFor(() => {
      try {
        const found = onlySessionDir(recordings);
        return fs.readdirSync(found).some((f) => /^session\.log\.\d/.test(f)) && found;
      } catch {
        return undefined;
      }
    }, 20_000, 'a time-rotated backup');
    const status = await runCli(['status', '--recordings-dir', recordings], sandbox);
    child.kill('SIGINT');
    await exitOf(child);
    expect(status.stdout).toContain(`log: ${path.join(dir, 'session.log')}\n`);
    expect(readLines(path.join(dir, 'session.log')).at(-1)?.message).toBe('session_stop');
  });
});

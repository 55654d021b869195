import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLine, type ParsedLogLine } from '../src/logging/line-format.js';
import { expectFinalWav } from './helpers/chunks.js';
import { exitOf, makeSandbox, runCli, SINE, startCli, waitFor } from './helpers/cli.js';

/**
 * Issue "State that survives and cannot harm", row 1: the disk fills, the inodes run out, the
 * session folder is deleted. Whatever the fault, the session ends with `session_stop` as the last
 * whole line of session.log (or on stderr when the file cannot take it), a final session.json
 * that is not `recording`, no temp files, and every chunk it calls finished is a whole WAV.
 * Real ffmpeg on real file systems: small tmpfs mounts (this needs root, as CI runs).
 */
const sandbox = makeSandbox();
const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts) execFileSync('umount', ['-l', dir]);
  sandbox.cleanup();
});

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(sandbox.root, 'probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  }
}
const mountable = canMount();

/** A fresh tmpfs of `options` (e.g. `size=3m`), unmounted after the file. */
function smallDisk(name: string, options: string): string {
  const dir = path.join(sandbox.root, name);
  fs.mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** 48 kHz stereo fills a disk fast: 192 kB per second of audio. */
const LOUD = [
  '--input-format',
  'lavfi',
  '--input',
  SINE,
  '--sample-rate',
  '48000',
  '--channels',
  '2',
  '--segment-time',
  '1',
  '--no-transcribe',
];

/** A config file setting recording.min_free_mb (0: the free-space guard off, so the disk can fill). */
function minFreeConfig(mb: number): string[] {
  const file = path.join(sandbox.root, `min-free-${mb}.conf`);
  fs.writeFileSync(file, `recording:\n  min_free_mb: ${mb}\n`, { mode: 0o644 });
  return ['--config', file];
}

function sessionDirIn(recordings: string): string {
  const dirs = fs
    .readdirSync(recordings, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(dirs).toHaveLength(1);
  return path.join(recordings, dirs[0]!);
}

/** Every line of the log is whole and parses; returns them. */
function wholeLines(file: string): ParsedLogLine[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text.length > 0) expect(text.endsWith('\n'), `${file} ends in a torn line: ${JSON.stringify(text.slice(-80))}`).toBe(true);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => parseLogLine(line) ?? expect.fail(`does not parse: ${line}`));
}

/** The session_stop the user can find: the log's last line, else on stderr. */
function finalStop(dir: string, stderr: string): ParsedLogLine {
  const log = wholeLines(path.join(dir, 'session.log'));
  const stopInFile = log.at(-1)?.message === 'session_stop' ? log.at(-1) : undefined;
  const onStderr = stderr
    .split('\n')
    .map((l) => parseLogLine(l))
    .filter((l): l is ParsedLogLine => l?.message === 'session_stop');
  expect(log.filter((l) => l.message === 'session_stop').length + onStderr.length, 'exactly one session_stop').toBe(1);
  return stopInFile ?? onStderr[0]!;
}

function expectFinishedChunksWhole(dir: string): void {
  const log = wholeLines(path.join(dir, 'session.log'));
  for (const created of log.filter((l) => l.message === 'chunk_created')) expectFinalWav(path.join(dir, created.fields.file!));
}

function expectNoTempFiles(dir: string): void {
  expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp') || name.startsWith('.ballast'))).toEqual([]);
}

describe.skipIf(!mountable)('every exit path ends in a true record', { concurrent: true }, () => {
  it('the disk fills: session_stop reason=disk_full last, session.json final, no torn line, no temp files, exit 1', async () => {
    const recordings = smallDisk('full', 'size=3m');
    const result = await runCli(
      ['record', ...LOUD, ...minFreeConfig(0), '--no-realtime', '--duration', '120', '--recordings-dir', recordings],
      sandbox,
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('this is a bug');
    expect(result.stderr).toMatch(/disk|space/i);
    const dir = sessionDirIn(recordings);
    const stop = finalStop(dir, result.stderr);
    expect(stop.fields.reason).toBe('disk_full');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8'));
    expect(manifest).toMatchObject({ status: 'error', stop_reason: 'disk_full' });
    expect(manifest.ended_at).toEqual(expect.any(String));
    expectFinishedChunksWhole(dir);
    expectNoTempFiles(dir);
    expect(fs.existsSync(path.join(recordings, '.active-session.json'))).toBe(false);
    const status = await runCli(['status', '--json', '--recordings-dir', recordings], sandbox);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).active).toBeNull();
  });

  it('the inodes run out: the same true record', async () => {
    // Room for the folder, the log, session.json, segments.csv and a few chunks, then no inode.
    const recordings = smallDisk('inodes', 'size=64m,nr_inodes=14');
    const result = await runCli(
      ['record', ...LOUD, ...minFreeConfig(0), '--no-realtime', '--duration', '60', '--recordings-dir', recordings],
      sandbox,
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('this is a bug');
    const dir = sessionDirIn(recordings);
    expect(finalStop(dir, result.stderr).fields.reason).toBe('disk_full');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')).status).toBe('error');
    expectFinishedChunksWhole(dir);
    expectNoTempFiles(dir);
  });

  it('the free-space guard refuses to start below recording.min_free_mb (default 200): exit 1, the reason, nothing created', async () => {
    const disk = smallDisk('refused', 'size=3m');
    const recordings = path.join(disk, 'recordings');
    const result = await runCli(['record', ...LOUD, '--duration', '5', '--recordings-dir', recordings], sandbox);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/not enough free space to record in .*recordings: [0-9.]+ MiB free, recording\.min_free_mb is 200 MiB/);
    expect(result.stderr).not.toContain('this is a bug');
    expect(fs.readdirSync(disk)).toEqual([]);
  });

  it('the free-space guard stops the session cleanly when min_free_mb is reached: reason=disk_low, whole chunks, warned first, exit 1', async () => {
    // 5 MiB, 1 MiB of it the ballast: the warning (below 4 × 3 MiB) comes at once, the stop after about 1 MiB of audio.
    const recordings = smallDisk('guarded', 'size=5m');
    const result = await runCli(['record', ...LOUD, ...minFreeConfig(3), '--duration', '60', '--recordings-dir', recordings], sandbox);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/recording stopped before the disk filled: .* below recording\.min_free_mb \(3 MiB\)/);
    const dir = sessionDirIn(recordings);
    const log = wholeLines(path.join(dir, 'session.log'));
    const stop = finalStop(dir, result.stderr);
    expect(stop.fields.reason).toBe('disk_low');
    expect(stop.fields.exit_code).toBe('1');
    const warned = log.findIndex((l) => l.message === 'disk_space_low' && l.level === 'WARNING');
    expect(warned).toBeGreaterThanOrEqual(0);
    expect(warned).toBeLessThan(log.findIndex((l) => l.message === 'disk_low'));
    expect(log.some((l) => l.message === 'storage_fault')).toBe(false);
    expect(log.filter((l) => l.message === 'chunk_created').length).toBeGreaterThan(0);
    expectFinishedChunksWhole(dir);
    expectNoTempFiles(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8'))).toMatchObject({ status: 'error', stop_reason: 'disk_low' });
  });

  it('the session folder is deleted mid-run: session_stop on stderr with the reason, no bug trace, lock released, exit 1', async () => {
    const recordings = path.join(sandbox.root, 'deleted');
    const child = startCli(['record', ...LOUD, '--duration', '30', '--recordings-dir', recordings], sandbox);
    const dir = await waitFor(
      () => {
        try {
          const d = sessionDirIn(recordings);
          return fs.readFileSync(path.join(d, 'session.log'), 'utf8').includes(' chunk_created ') && d;
        } catch {
          return undefined;
        }
      },
      20_000,
      'the first chunk',
    );
    // ffmpeg and echolog go on writing while the folder is emptied, so one rm can end in ENOTEMPTY
    // (more so on a loaded machine): remove again until the folder is gone, as a user would.
    await waitFor(
      () => {
        try {
          fs.rmSync(dir, { recursive: true, force: true });
        } catch {
          // a file made meanwhile: the next round takes it
        }
        return !fs.existsSync(dir);
      },
      20_000,
      'the session folder to be gone',
    );
    const exit = await exitOf(child);
    const { stderr } = child.output();
    expect(exit.code, stderr).toBe(1);
    expect(stderr).not.toContain('this is a bug');
    const stops = stderr
      .split('\n')
      .map((l) => parseLogLine(l))
      .filter((l) => l?.message === 'session_stop');
    expect(stops).toHaveLength(1);
    expect(stops[0]!.fields.reason).toBe('error');
    expect(stops[0]!.fields.message).toMatch(/session folder .* (deleted|gone|missing)/);
    expect(fs.existsSync(path.join(recordings, '.active-session.json'))).toBe(false);
  });
});

describe('a session whose final session.json write failed', () => {
  it('status completes session.json from the session_stop its log ends with, and adds no second one', async () => {
    const box = makeSandbox();
    try {
      const recorded = await runCli(
        ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--segment-time', '1', '--no-realtime'],
        box,
      );
      expect(recorded.code, recorded.stderr).toBe(0);
      const dir = sessionDirIn(box.recordings);
      // The state a failed final write leaves: session_stop in the log, session.json still `recording`,
      // no lock, and the echolog that wrote it gone (a start time that no live process has).
      const file = path.join(dir, 'session.json');
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.writeFileSync(file, JSON.stringify({ ...manifest, status: 'recording', stop_reason: null, ended_at: null, pid_start_ticks: 1 }));
      const logBefore = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');

      const status = await runCli(['status', '--json'], box);
      expect(status.code, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout);
      expect(report.active).toBeNull();
      expect(report.last).toMatchObject({ session_id: path.basename(dir), status: 'completed', stop_reason: 'duration_reached' });
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
        status: 'completed',
        stop_reason: 'duration_reached',
        ended_at: expect.any(String),
      });
      expect(fs.readFileSync(path.join(dir, 'session.log'), 'utf8')).toBe(logBefore);
    } finally {
      box.cleanup();
    }
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onlySessionDir, readSessionLog, runCli, sandboxPool, SINE, type Sandbox } from './helpers/cli.js';

/**
 * Issue 8 rows 4, 5 and 7 on real file systems (tests run as root, as the brief says: "not the
 * user's" is a chown to uid 12345; a read-only file system is a small tmpfs remounted ro).
 */
const LAVFI = ['--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--no-realtime'];
const pool = sandboxPool();
const sandbox = pool.sandbox;
const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts) execFileSync('umount', [dir]);
  pool.cleanup();
});

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |this is a bug/);

describe('a recordings dir that cannot be used is refused, exit 2, naming it (rows 4 and 7)', () => {
  const setups: Array<[string, (box: Sandbox) => string, RegExp]> = [
    ['a dangling symlink', (box) => symlink(box, 'dangling', path.join(box.root, 'nowhere', 'x')), /points to nothing/],
    [
      'a symlink loop',
      (box) => {
        symlink(box, 'loop-b', path.join(box.root, 'loop-a'));
        return symlink(box, 'loop-a', path.join(box.root, 'loop-b'));
      },
      /points back to itself \(a loop\)/,
    ],
    [
      'a read-only file system',
      (box) => {
        const dir = path.join(box.root, 'ro');
        fs.mkdirSync(dir);
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir]);
        mounts.push(dir);
        execFileSync('mount', ['-o', 'remount,ro', dir]);
        return dir;
      },
      /read-only file system/,
    ],
    [
      'a dir whose lock path is a directory',
      (box) => {
        fs.mkdirSync(path.join(box.recordings, '.active-session.json'), { recursive: true });
        fs.chmodSync(box.recordings, 0o700);
        return box.recordings;
      },
      /\.active-session\.json is a directory, not a file/,
    ],
    [
      'a 0777 dir',
      (box) => {
        fs.mkdirSync(box.recordings);
        fs.chmodSync(box.recordings, 0o777);
        return box.recordings;
      },
      /it is writable by group and others \(mode 0777\): another account could plant locks and sessions in it/,
    ],
    [
      "another user's dir",
      (box) => {
        fs.mkdirSync(box.recordings, { mode: 0o700 });
        fs.chownSync(box.recordings, 12345, 12345);
        return box.recordings;
      },
      /it is owned by uid 12345, not by you \(uid 0\)/,
    ],
  ];

  it.concurrent.each(setups)('%s', async (name, setup, why) => {
    const box = sandbox();
    const dir = setup(box);
    const before = fs.existsSync(dir) ? fs.readdirSync(dir) : undefined;
    // status only reads a read-only dir (see below); everything else refuses both.
    for (const command of name === 'a read-only file system' ? [['record', ...LAVFI]] : [['record', ...LAVFI], ['status']]) {
      const result = await runCli([...command, '--recordings-dir', dir], box);
      expect(result.code, `${command[0]}: ${result.stderr}`).toBe(2);
      noStack(result.stderr);
      expect(result.stderr.split('\n')[0]).toMatch(
        new RegExp(`^echolog: recordings dir ${dir} cannot be used: [^;]*${why.source}[^;]*; choose another with --recordings-dir`),
      );
    }
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : undefined).toEqual(before);
  });

  it.concurrent(
    'a read-only recordings dir (a bind mount): status shows it; with a session to recover, it is refused, exit 2',
    async () => {
      const box = sandbox();
      expect((await runCli(['record', ...LAVFI, '--session-id', 'old'], box)).code).toBe(0);
      const dir = path.join(box.root, 'ro-archive');
      fs.mkdirSync(dir);
      execFileSync('mount', ['--bind', box.recordings, dir]);
      mounts.push(dir);
      execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
      const result = await runCli(['status', '--recordings-dir', dir], box);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('last session: old (completed, duration_reached)');

      // A crash left the session recording (written through the writable original).
      const manifest = path.join(box.recordings, 'old', 'session.json');
      fs.writeFileSync(
        manifest,
        JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), status: 'recording', pid_start_ticks: 1 }),
      );
      fs.writeFileSync(
        path.join(box.recordings, '.active-session.json'),
        JSON.stringify({ session_id: 'old', pid: process.pid, pid_start_ticks: 1 }),
      );
      const stale = await runCli(['status', '--recordings-dir', dir], box);
      expect(stale.code).toBe(2);
      noStack(stale.stderr);
      expect(stale.stderr).toBe(
        `echolog: recordings dir ${dir} cannot be used: it is on a read-only file system; choose another with --recordings-dir, ECHOLOG_RECORDINGS_DIR or recordings_dir in echolog.conf\n`,
      );
    },
  );
});

function symlink(box: Sandbox, name: string, target: string): string {
  const link = path.join(box.root, name);
  fs.symlinkSync(target, link);
  return link;
}

describe('only trusted config files are read (row 5)', () => {
  /** A fake ffmpeg (the fault: a config naming a program to run) that leaves a mark if it is run. */
  function plantConfig(box: Sandbox): { file: string; mark: string; cwd: string } {
    const mark = path.join(box.root, 'fake-ffmpeg-ran');
    const fake = path.join(box.root, 'fake-ffmpeg');
    fs.writeFileSync(fake, `#!/bin/sh\ntouch '${mark}'\nexit 1\n`, { mode: 0o755 });
    const file = path.join(box.home, 'echolog.conf');
    fs.writeFileSync(file, `ffmpeg:\n  path: ${fake}\n`);
    const cwd = path.join(box.home, 'project', 'sub');
    fs.mkdirSync(cwd, { recursive: true });
    return { file, mark, cwd };
  }

  it.concurrent.each([
    ['owned by another user', (file: string) => fs.chownSync(file, 12345, 12345), 'it is owned by uid 12345, not by you (uid 0)'],
    ['world-writable', (file: string) => fs.chmodSync(file, 0o666), 'it is writable by group and others (mode 0666)'],
    ['group-writable', (file: string) => fs.chmodSync(file, 0o664), 'it is writable by group (mode 0664)'],
  ])('a config file above the cwd %s is skipped with a warning naming it; its ffmpeg.path is not run', async (_case, spoil, why) => {
    const box = sandbox();
    const { file, mark, cwd } = plantConfig(box);
    spoil(file);
    const result = await runCli(['record', ...LAVFI], { ...box, cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`echolog: warning: ignoring config file ${file}: ${why}\n`);
    expect(fs.existsSync(mark)).toBe(false);
    expect(readSessionLog(onlySessionDir(box.recordings)).find((l) => l.message === 'session_start')?.fields.config_file).toBeUndefined();
  });

  it.concurrent('the same file, trusted, is read (the test above is not vacuous)', async () => {
    const box = sandbox();
    const { file, mark, cwd } = plantConfig(box);
    const result = await runCli(['record', ...LAVFI], { ...box, cwd });
    expect(result.code).toBe(1);
    expect(fs.existsSync(mark)).toBe(true);
    expect(result.stderr).not.toContain(`ignoring config file ${file}`);
  });

  it.concurrent('an untrusted --config is refused, exit 2, naming it', async () => {
    const box = sandbox();
    const { file, mark } = plantConfig(box);
    fs.chmodSync(file, 0o646);
    const result = await runCli(['record', ...LAVFI, '--config', file], box);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `echolog: --config ${file}: ${file} is not trusted: it is writable by others (mode 0646); its ffmpeg.path would be run\n`,
    );
    expect(fs.existsSync(mark)).toBe(false);
  });
});

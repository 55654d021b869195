import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load-config-file.js';
import { exitOf, makeSandbox, runCli, waitFor } from './helpers/cli.js';

/**
 * Issue 16 §2: another local account (the real `nobody`) swaps `echolog.conf` in a shared sticky
 * folder between its own file and a symlink to a root-owned one, as fast as it can. Before, the
 * loader stat()ed the path (following the symlink: root's, trusted) and read whatever the name held
 * by then: 7 of 60 `echolog config` runs used the evil file. Now each candidate is opened once and
 * judged by its descriptor, and a symlink in a folder others can change is not followed.
 */
const asRoot = process.getuid?.() === 0 && hasNobody();
const sandbox = makeSandbox();
const swappers: Array<{ su: ChildProcess; pidFile: string }> = [];
afterAll(async () => {
  for (const { su, pidFile } of swappers) {
    // `su -c` runs the loop in a session of its own (util-linux's setsid): it is killed by its pid.
    const loopPid = Number(fs.readFileSync(pidFile, 'utf8'));
    if (loopPid > 1) process.kill(loopPid, 'SIGKILL');
    await exitOf(su);
  }
  sandbox.cleanup();
});

function hasNobody(): boolean {
  try {
    execFileSync('id', ['nobody'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A sticky, world-writable folder (like /tmp) that `nobody` can reach, with the evil file's text and a root-owned config. */
function sharedFolder(): { shared: string; evilPath: string; rootConfig: string } {
  // Inside the sandbox (removed in teardown), opened up so that nobody can reach the shared folder.
  fs.chmodSync(sandbox.root, 0o755);
  const top = fs.mkdtempSync(path.join(sandbox.root, 'race-'));
  fs.chmodSync(top, 0o755);
  const shared = path.join(top, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  const evilPath = path.join(top, 'evil-ffmpeg');
  fs.writeFileSync(path.join(shared, 'evil'), `ffmpeg:\n  path: ${evilPath}\n`, { mode: 0o644 });
  const rootConfig = path.join(top, 'root-owned.conf');
  fs.writeFileSync(rootConfig, 'logging:\n  level: debug\n', { mode: 0o644 });
  return { shared, evilPath, rootConfig };
}

/**
 * `nobody` swaps the name in a loop: its own file, then a symlink to root's file, each by an atomic
 * rename. Bounded (20000 rounds) and killed with its process group in teardown.
 */
function startSwapping(shared: string, rootConfig: string): void {
  const pidFile = path.join(shared, 'swapper.pid');
  const loop = `cd '${shared}' && echo $$ > swapper.pid && i=0; while [ $i -lt 20000 ]; do cp evil e.tmp; mv -T e.tmp echolog.conf; ln -sfn '${rootConfig}' l.tmp; mv -T l.tmp echolog.conf; i=$((i+1)); done`;
  const su = spawn('su', ['nobody', '-s', '/bin/sh', '-c', loop], { stdio: 'ignore' });
  swappers.push({ su, pidFile });
}

describe.skipIf(!asRoot)('a second account swapping echolog.conf in a shared sticky folder', () => {
  it('never gets its ffmpeg.path used: not by the loader, not by `echolog config`', async () => {
    const { shared, evilPath, rootConfig } = sharedFolder();
    startSwapping(shared, rootConfig);
    // The swap is under way once its pid and a first echolog.conf are there.
    await waitFor(
      () => fs.existsSync(path.join(shared, 'echolog.conf')) && fs.readFileSync(path.join(shared, 'swapper.pid'), 'utf8').endsWith('\n'),
      20_000,
      'the swap loop',
    );

    const warnings = new Set<string>();
    for (let round = 0; round < 400; round++) {
      const found = await loadConfigFile({
        cwd: shared,
        home: sandbox.home,
        env: { XDG_CONFIG_HOME: path.join(sandbox.home, '.config') },
        warn: (m) => warnings.add(m.replace(/\(.*\)$/, '')),
      });
      // Neither nobody's file nor the file its symlink names is ever read.
      expect(found).toBeUndefined();
    }
    // Not vacuous: both states of the name were met, and each was refused for its own reason.
    const file = path.join(shared, 'echolog.conf');
    expect([...warnings].sort()).toEqual([
      `ignoring config file ${file}: it is a symlink in a folder another account can change `,
      `ignoring config file ${file}: it is owned by uid 65534, not by you `,
    ]);

    for (let run = 0; run < 15; run++) {
      const result = await runCli(['config'], { ...sandbox, cwd: shared });
      expect(result.stdout).not.toContain(evilPath);
      expect(result.stdout).toMatch(/^# config file: \(none found\)\n/);
      expect(result.code, result.stderr).toBe(0);
    }
  }, 120_000);
});

describe('what the open descriptor must be', () => {
  function folder(mode: number): string {
    const dir = fs.mkdtempSync(path.join(sandbox.root, 'rule-'));
    fs.chmodSync(dir, mode);
    return dir;
  }
  const load = (cwd: string, warn?: (m: string) => void) =>
    loadConfigFile({ cwd, home: cwd, env: { XDG_CONFIG_HOME: path.join(cwd, 'none') }, warn });

  it("a symlinked echolog.conf in a folder only you can change is followed (a dotfile manager's), its target judged", async () => {
    const dir = folder(0o700);
    const target = path.join(dir, 'dotfiles.conf');
    fs.writeFileSync(target, 'logging:\n  level: debug\n', { mode: 0o644 });
    fs.symlinkSync(target, path.join(dir, 'echolog.conf'));
    expect(await load(dir)).toEqual({ path: path.join(dir, 'echolog.conf'), values: { logging: { level: 'debug' } } });
    fs.chmodSync(target, 0o666);
    const warnings: string[] = [];
    expect(await load(dir, (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual([`ignoring config file ${path.join(dir, 'echolog.conf')}: it is writable by group and others (mode 0666)`]);
  });

  it('a FIFO under the name is skipped without blocking; a file over 1 MiB is an error, not read into memory', async () => {
    const dir = folder(0o700);
    execFileSync('mkfifo', [path.join(dir, 'echolog.conf')]);
    const warnings: string[] = [];
    expect(await load(dir, (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual([`ignoring config file ${path.join(dir, 'echolog.conf')}: it is not a regular file`]);
    fs.rmSync(path.join(dir, 'echolog.conf'));
    fs.writeFileSync(path.join(dir, '.echologrc'), `# ${'x'.repeat(1024 * 1024)}\n`, { mode: 0o600 });
    await expect(load(dir)).rejects.toThrow(`config file ${path.join(dir, '.echologrc')} is larger than 1024 KiB: not a config file`);
  });
});

describe('an untrusted package.json on the way up', () => {
  it('is skipped silently without an "echolog" key, with a warning when it has one', async () => {
    const dir = fs.mkdtempSync(path.join(sandbox.root, 'pkg-'));
    const pkg = path.join(dir, 'package.json');
    fs.writeFileSync(pkg, '{"name": "theirs"}', { mode: 0o666 });
    fs.chmodSync(pkg, 0o666);
    const warnings: string[] = [];
    const load = () =>
      loadConfigFile({ cwd: dir, home: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'none') }, warn: (m) => warnings.push(m) });
    expect(await load()).toBeUndefined();
    expect(warnings).toEqual([]);
    fs.writeFileSync(pkg, '{"echolog": {"ffmpeg": {"path": "/tmp/evil"}}}');
    expect(await load()).toBeUndefined();
    expect(warnings).toEqual([`ignoring config file ${pkg}: it is writable by group and others (mode 0666)`]);
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStartTicks } from '../src/process/process-identity.js';
import { ORPHAN_WATCHDOG_NAME, ORPHAN_WATCHDOG_SCRIPT } from '../src/process/orphan-watchdog.js';
import { isAlive, processesMatching } from './helpers/chunks.js';
import { REPO, waitFor } from './helpers/cli.js';

// The built module, as echolog runs it.
const { startOrphanWatchdog, ManagedProcess } = (await import(
  `${REPO}/dist/process/managed-process.js`
)) as typeof import('../src/process/managed-process.js');

describe('orphan watchdog, released after its child exited', () => {
  it.each([
    ['at once (while the watchdog is still loading)', 0],
    ['later', 500],
  ])('%s: it exits without signalling the pid, which may belong to another process by then', async (_when, afterMs) => {
    // `sleep` stands in for a process that got ffmpeg's pid after ffmpeg exited.
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const release = startOrphanWatchdog(bystander.pid!, 200, (error) => expect.fail(`the watchdog did not start: ${error.message}`));
      await new Promise((r) => setTimeout(r, afterMs));
      release();
      await waitFor(() => processesMatching('echolog-orphan-watchdog', String(bystander.pid)).length === 0, 5_000, 'the watchdog to exit');
      await new Promise((r) => setTimeout(r, 300));
      expect(bystander.signalCode).toBeNull();
      expect(isAlive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('orphan watchdog, when its parent dies', () => {
  it.each([
    ['at once (while the watchdog is still loading)', 0],
    ['later', 800],
  ])('%s: SIGINTs the child', async (_when, lifetimeMs) => {
    const orphan = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const script = `import(${JSON.stringify(`${REPO}/dist/process/managed-process.js`)}).then((m) => { m.startOrphanWatchdog(${orphan.pid}, 200, (e) => { console.error(e); process.exit(3); }); setTimeout(() => process.kill(process.pid, 'SIGKILL'), ${lifetimeMs}); })`;
      spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      await waitFor(() => orphan.signalCode ?? undefined, 5_000, 'the orphan to be stopped');
      expect(orphan.signalCode).toBe('SIGINT');
    } finally {
      orphan.kill('SIGKILL');
    }
  });
});

describe('orphan watchdog script: the pid is signalled only while it is the process it was started for', () => {
  /** The watchdog as startOrphanWatchdog runs it, with `ticks` for the start time; its pipe is ended at once (our death). */
  async function watchdogAfterDeath(pid: number, ticks: string, tenths = 2): Promise<void> {
    const watchdog = spawn('/bin/sh', ['-c', ORPHAN_WATCHDOG_SCRIPT, ORPHAN_WATCHDOG_NAME, String(pid), ticks, String(tenths)], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    watchdog.stdin.end();
    await waitFor(() => watchdog.exitCode !== null || watchdog.signalCode !== null, 5_000, 'the watchdog to exit');
    expect(watchdog.exitCode).toBe(0);
  }

  it('a pid with another start time (reused) is left alone', async () => {
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await watchdogAfterDeath(bystander.pid!, String(readStartTicks(bystander.pid!)! + 1));
      expect(bystander.signalCode).toBeNull();
      expect(isAlive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('a zombie (exited, its parent not reaping it) is neither signalled nor waited on', async () => {
    // The child exits once its parent has exec'd into `sleep 30`, which never reaps it: a zombie for 30 s. (A child
    // that exited at once could be reaped by the shell before its exec, under load: then there was no zombie.)
    const child = 'while [ "$(cat /proc/$PPID/comm)" != sleep ]; do sleep 0.01; done';
    const parent = spawn('sh', ['-c', `sh -c '${child}' & echo $!; exec sleep 30`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let out = '';
      parent.stdout.on('data', (data: Buffer) => (out += data.toString()));
      const pid = await waitFor(() => (out.includes('\n') ? Number(out.trim()) : undefined), 5_000, 'the child pid');
      await waitFor(() => /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) || undefined, 5_000, 'the child to be a zombie');
      // 10 s per rung if the zombie were taken for ffmpeg: the 5 s wait for the watchdog's exit would fail.
      await watchdogAfterDeath(pid, String(readStartTicks(pid)), 100);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('its own start time is read past a command name holding spaces and parentheses: SIGINT', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-watchdog-'));
    const odd = path.join(dir, 'ff) (x y');
    fs.copyFileSync(fs.realpathSync('/bin/sleep'), odd);
    fs.chmodSync(odd, 0o755);
    const orphan = spawn(odd, ['30'], { stdio: 'ignore' });
    try {
      await waitFor(() => readStartTicks(orphan.pid!), 5_000, 'the orphan to run');
      await watchdogAfterDeath(orphan.pid!, String(readStartTicks(orphan.pid!)));
      await waitFor(() => orphan.signalCode ?? undefined, 5_000, 'the orphan to be stopped');
      expect(orphan.signalCode).toBe('SIGINT');
    } finally {
      orphan.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ManagedProcess.lastLines', () => {
  it('keeps only the last lines of a stream, in order', async () => {
    const child = await ManagedProcess.start('sh', ['-c', 'for i in 1 2 3 4 5; do echo "line $i" >&2; done']);
    const lines = child.lastLines('stderr', 2);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(lines).toEqual(['line 4', 'line 5']);
  });
});

describe('ManagedProcess stop ladder', () => {
  it('a child that ignores the polite input and SIGINT is ended by SIGTERM; onStep hears each rung', async () => {
    const steps: string[] = [];
    const child = await ManagedProcess.start('sh', ['-c', "trap '' INT; while :; do sleep 0.05; done"], {
      stdin: true,
      onStep: (step) => steps.push(step),
    });
    const exit = await child.stop({ politeInput: 'q', stepTimeoutMs: 200 });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(steps).toEqual(['q', 'SIGINT', 'SIGTERM']);
    expect(isAlive(child.pid)).toBe(false);
  });

  it('a child that obeys the polite input exits on its own, with its code', async () => {
    const child = await ManagedProcess.start('sh', ['-c', 'read line; exit 3'], { stdin: true });
    expect(await child.stop({ politeInput: 'q\n', stepTimeoutMs: 5_000 })).toEqual({ code: 3, signal: null });
  });

  it('escalate() skips a rung at once (a second Ctrl-C)', async () => {
    const steps: string[] = [];
    const child = await ManagedProcess.start('sleep', ['30'], { stdin: true, onStep: (step) => steps.push(step) });
    const started = Date.now();
    const stopping = child.stop({ politeInput: 'q', stepTimeoutMs: 10_000 });
    child.escalate();
    expect(await stopping).toEqual({ code: null, signal: 'SIGINT' });
    expect(steps).toEqual(['q', 'SIGINT']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a missing binary rejects at start', async () => {
    await expect(ManagedProcess.start('/nonexistent/ffmpeg', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

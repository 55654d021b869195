import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStartTicks, runsEcholog } from '../src/process/process-identity.js';
import { isAlive } from './helpers/chunks.js';
import { readSessionLog, runCli, sandboxPool, SINE, waitFor, type Sandbox } from './helpers/cli.js';

/**
 * Issue 16 §1: a takeover guard (`.active-session.json.takeover`) dated in the future, as a crash
 * followed by a clock stepped back (or a copied folder) leaves it. Its staleness comes from its
 * owner's identity (pid + start time + an echolog command line); the wall clock may only shorten
 * the wait. Real CLI runs, real files, real processes.
 */
const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const pool = sandboxPool();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  pool.cleanup();
});

/** A process that is alive for the test: `sleep`, or one whose command line runs "echolog" (exec -a). */
async function startProcess(asEcholog: boolean): Promise<number> {
  const child = asEcholog
    ? spawn('bash', ['-c', 'exec -a /opt/echolog/bin/echolog sleep 60'], { stdio: 'ignore' })
    : spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  // exec -a replaces bash's command line (and start time stays bash's): wait until the exec happened.
  if (asEcholog)
    await waitFor(
      () => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/opt/echolog/bin/echolog\0'),
      5000,
      'the process to exec',
    );
  return pid;
}

const deadPid = (): number => spawnSync('true').pid!;
const TOMORROW = new Date(Date.now() + 24 * 3600 * 1000);

/** A guard file naming `owner`, its mtime a day in the future; and a lock that is `lock`. */
function plantGuard(box: Sandbox, owner: { pid: number; pid_start_ticks?: number } | 'folder', lock: string): string {
  fs.mkdirSync(box.recordings, { mode: 0o700, recursive: true });
  const lockFile = path.join(box.recordings, '.active-session.json');
  fs.writeFileSync(lockFile, lock);
  const guard = `${lockFile}.takeover`;
  if (owner === 'folder') fs.mkdirSync(guard);
  else fs.writeFileSync(guard, JSON.stringify(owner));
  fs.utimesSync(guard, TOMORROW, TOMORROW);
  return guard;
}

const timed = async <T>(run: () => Promise<T>): Promise<T & { ms: number }> => {
  const t0 = Date.now();
  const result = await run();
  return { ...result, ms: Date.now() - t0 };
};

describe('a takeover guard dated in the future', () => {
  it.concurrent.each([
    ['its owner is dead', async () => ({ pid: deadPid() })],
    [
      'its owner is a live `sleep` with its real start time (not echolog)',
      async () => {
        const pid = await startProcess(false);
        return { pid, pid_start_ticks: readStartTicks(pid) };
      },
    ],
    [
      'its owner is a live echolog-named process whose start time differs (the pid was reused)',
      async () => {
        const pid = await startProcess(true);
        return { pid, pid_start_ticks: readStartTicks(pid)! + 1 };
      },
    ],
  ])('%s: status and record take it over at once', async (_case, owner) => {
    const box = pool.sandbox();
    const guard = plantGuard(box, await owner(), 'garbage, not a lock');
    const status = await timed(() => runCli(['status'], box));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toContain('removed the invalid lock file');
    expect(fs.existsSync(guard)).toBe(false);
    // Generous: a status takes well under a second; the bug slept forever.
    expect(status.ms).toBeLessThan(15_000);

    plantGuard(box, await owner(), JSON.stringify({ session_id: 'gone', pid: deadPid() }));
    const record = await timed(() => runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'next'], box));
    expect(record.code, record.stderr).toBe(0);
    expect(readSessionLog(path.join(box.recordings, 'next')).at(-1)?.message).toBe('session_stop');
    expect(fs.existsSync(guard)).toBe(false);
    expect(record.ms).toBeLessThan(30_000);
  });

  it.concurrent('a guard folder of an older echolog (no owner to ask): waited for a bounded moment, then removed', async () => {
    const box = pool.sandbox();
    const guard = plantGuard(box, 'folder', 'garbage, not a lock');
    const status = await timed(() => runCli(['status'], box));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toContain('removed the invalid lock file');
    expect(fs.existsSync(guard)).toBe(false);
    expect(status.ms).toBeLessThan(15_000);
  });

  it.concurrent(
    'its owner is a live echolog with its start time: record waits a bounded moment, then says who holds the guard (exit 1); status is not blocked',
    async () => {
      const box = pool.sandbox();
      const pid = await startProcess(true);
      const guard = plantGuard(box, { pid, pid_start_ticks: readStartTicks(pid) }, JSON.stringify({ session_id: 'gone', pid: deadPid() }));
      const record = await timed(() => runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'next'], box));
      expect(record.code).toBe(1);
      expect(record.stderr).toBe(
        `echolog: the takeover guard ${guard} is held by echolog pid ${pid} for more than 3 s; if no echolog is starting, remove it\n`,
      );
      expect(record.ms).toBeLessThan(30_000);
      expect(fs.existsSync(path.join(box.recordings, 'next'))).toBe(false);
      expect(isAlive(pid)).toBe(true);

      const status = await timed(() => runCli(['status'], box));
      expect(status.code, status.stderr).toBe(0);
      expect(status.ms).toBeLessThan(15_000);
    },
  );
});

describe("an echolog command line (the third part of a lock holder's identity)", () => {
  it.each([
    [['/usr/bin/node', '/opt/echolog/bin/echolog', 'record'], true],
    [['node', '--enable-source-maps', '/home/u/echolog/bin/echolog', 'status'], true],
    [['/usr/local/bin/echolog', 'record'], true],
    [['sleep', '60'], false],
    [['/usr/bin/node', '/x/vitest.mjs', 'run', 'echolog'], false],
    [['vim', '/opt/x/notes', '/opt/echolog'], false],
    [[], false],
  ])('%j: %s', (cmdline, expected) => expect(runsEcholog(cmdline)).toBe(expected));
  it('no command line (no such process)', () => expect(runsEcholog(undefined)).toBe(false));
});

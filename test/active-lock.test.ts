import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionBusyError } from '../src/errors.js';
import { acquireActiveLock, lockPath, readActiveLock } from '../src/store/active-lock.js';

/** A pid that certainly belonged to a process that has exited (and was reaped). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('active-session lock', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('two records taking over the same stale lock at once: exactly one wins, the other is told who records', async () => {
    const dir = tempDir();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ session_id: 'dead-session', pid: deadPid() }));
    const results = await Promise.allSettled([acquireActiveLock(dir, 'first'), acquireActiveLock(dir, 'second')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect((won[0] as PromiseFulfilledResult<{ stale?: { session_id: string } }>).value.stale?.session_id).toBe('dead-session');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(SessionBusyError);
    const holder = await readActiveLock(dir);
    expect(refused[0]!.reason.message).toContain(`session ${holder!.session_id} is already recording`);
    expect(fs.existsSync(`${lockPath(dir)}.takeover`)).toBe(false);
  });

  it('a takeover guard left by a record that died long ago does not block forever', async () => {
    const dir = tempDir();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ session_id: 'dead-session', pid: deadPid() }));
    const guard = `${lockPath(dir)}.takeover`;
    fs.mkdirSync(guard);
    const longAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(guard, longAgo, longAgo);
    await expect(acquireActiveLock(dir, 'next')).resolves.toMatchObject({ stale: { session_id: 'dead-session' } });
    expect((await readActiveLock(dir))?.session_id).toBe('next');
  });
});

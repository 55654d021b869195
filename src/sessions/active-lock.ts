import fs from 'node:fs/promises';
import path from 'node:path';
import { SessionBusyError } from '../errors.js';
import { isProcessAlive } from '../process/managed-process.js';
import { readJson } from './atomic-json.js';
import { recordingsDirError } from './recordings-dir.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One session records at a time per recordings dir (seed 001's capacity rule). The lock is a
 * file created exclusively; a lock whose pid is dead belongs to a session that must be recovered.
 */
export interface ActiveLock {
  session_id: string;
  pid: number;
}

export const LOCK_NAME = '.active-session.json';

export function lockPath(recordingsDir: string): string {
  return path.join(recordingsDir, LOCK_NAME);
}

export async function readActiveLock(recordingsDir: string): Promise<ActiveLock | undefined> {
  return readJson<ActiveLock>(lockPath(recordingsDir)).catch(() => undefined);
}

/** The lock of a session that is really recording now, or undefined. */
export async function liveLock(recordingsDir: string): Promise<ActiveLock | undefined> {
  const lock = await readActiveLock(recordingsDir);
  return lock && isProcessAlive(lock.pid) ? lock : undefined;
}

/**
 * Takes the lock for `sessionId`. Refuses while another live session holds it; a stale lock
 * (its pid is dead) is returned as `stale` and replaced, so the caller can recover that session.
 */
export async function acquireActiveLock(recordingsDir: string, sessionId: string): Promise<{ stale?: ActiveLock }> {
  const file = lockPath(recordingsDir);
  const mine = `${JSON.stringify({ session_id: sessionId, pid: process.pid } satisfies ActiveLock)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, mine, { flag: 'wx', mode: 0o600 });
      return {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw recordingsDirError(recordingsDir, error);
    }
    const holder = await readActiveLock(recordingsDir);
    if (holder && isProcessAlive(holder.pid)) throw busy(holder, recordingsDir);
    // Replacing a stale lock is check-then-act: two records doing it at once could both win.
    // A takeover guard makes it one at a time; a plain create (wx) never replaces, so needs none.
    const taken = await withTakeoverGuard(file, async () => {
      const current = await readActiveLock(recordingsDir);
      if (current && isProcessAlive(current.pid)) throw busy(current, recordingsDir);
      // An unreadable lock may be one being written right now by a plain create: let it settle.
      if (!current && (await fileAgeMs(file)) < UNREADABLE_LOCK_GRACE_MS) {
        await sleep(UNREADABLE_LOCK_GRACE_MS);
        return undefined;
      }
      await fs.rm(file, { force: true });
      try {
        await fs.writeFile(file, mine, { flag: 'wx', mode: 0o600 });
        return { stale: current };
      } catch (error) {
        // A plain create took the freed lock first: the next round names it as the busy session.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw recordingsDirError(recordingsDir, error);
        return undefined;
      }
    });
    if (taken) return taken;
  }
  throw new SessionBusyError(`could not take the recording lock ${file}`);
}

function busy(holder: ActiveLock, recordingsDir: string): SessionBusyError {
  return new SessionBusyError(
    `session ${holder.session_id} is already recording: live pid ${holder.pid} holds the lock ${lockPath(recordingsDir)}; ` +
      `stop it first (kill -INT ${holder.pid}), or use another --recordings-dir`,
  );
}

const UNREADABLE_LOCK_GRACE_MS = 500;

async function fileAgeMs(file: string): Promise<number> {
  return fs.stat(file).then((s) => Date.now() - s.mtimeMs, () => Infinity);
}

/** A guard older than this was left by a record that died mid-takeover. */
const TAKEOVER_GUARD_STALE_MS = 10_000;

/** Runs `critical` while holding `<lock>.takeover` (a directory: mkdir is atomic). */
async function withTakeoverGuard<T>(lockFile: string, critical: () => Promise<T>): Promise<T> {
  const guard = `${lockFile}.takeover`;
  for (;;) {
    try {
      await fs.mkdir(guard);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await fileAgeMs(guard);
      if (age > TAKEOVER_GUARD_STALE_MS && age !== Infinity) await fs.rm(guard, { recursive: true, force: true });
      else await sleep(50);
    }
  }
  try {
    return await critical();
  } finally {
    await fs.rm(guard, { recursive: true, force: true });
  }
}

export async function releaseActiveLock(recordingsDir: string, sessionId: string): Promise<void> {
  const holder = await readActiveLock(recordingsDir);
  if (holder?.session_id === sessionId && holder.pid === process.pid) await fs.rm(lockPath(recordingsDir), { force: true });
}

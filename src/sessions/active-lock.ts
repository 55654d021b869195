import fs from 'node:fs/promises';
import path from 'node:path';
import { SessionBusyError } from '../errors.js';
import { isProcessAlive } from '../process/managed-process.js';
import { readJson } from './atomic-json.js';
import { recordingsDirError } from './recordings-dir.js';

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
    if (holder && isProcessAlive(holder.pid)) {
      throw new SessionBusyError(
        `session ${holder.session_id} is already recording (pid ${holder.pid}) in ${recordingsDir}; stop it first, or use another --recordings-dir`,
      );
    }
    await fs.rm(file, { force: true });
    if (!holder) continue; // an unreadable lock: removed, take it in the next round
    try {
      await fs.writeFile(file, mine, { flag: 'wx', mode: 0o600 });
      return { stale: holder };
    } catch (error) {
      // Another record took the freed lock first: the next round names it as the busy session.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw recordingsDirError(recordingsDir, error);
    }
  }
  throw new SessionBusyError(`could not take the recording lock ${file}`);
}

export async function releaseActiveLock(recordingsDir: string, sessionId: string): Promise<void> {
  const holder = await readActiveLock(recordingsDir);
  if (holder?.session_id === sessionId && holder.pid === process.pid) await fs.rm(lockPath(recordingsDir), { force: true });
}

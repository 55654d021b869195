import fs from 'node:fs/promises';
import path from 'node:path';
import { SessionBusyError } from '../errors.js';
import { createFileDurable, readJson } from '../files/durable-write.js';
import { isSameProcessAlive, isValidPid, readStartTicks } from '../files/process-identity.js';
import { recordingsDirError } from './recordings-dir.js';
import { isValidSessionId } from './session-id.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One session records at a time per recordings dir (seed 001's capacity rule). The lock is a
 * file created exclusively; a lock whose pid is dead belongs to a session that must be recovered.
 */
export interface ActiveLock {
  session_id: string;
  pid: number;
  /** The holder's start time (/proc/<pid>/stat field 22): a reused pid is not the holder. Absent without /proc. */
  pid_start_ticks?: number;
}

export const LOCK_NAME = '.active-session.json';

export function lockPath(recordingsDir: string): string {
  return path.join(recordingsDir, LOCK_NAME);
}

/**
 * A lock read from disk is untrusted: its session id becomes a path and its pid may be signalled.
 * Returns the lock, or why it is not one. Pure.
 */
export function parseActiveLock(value: unknown): ActiveLock | string {
  if (typeof value !== 'object' || value === null) return 'it is not a JSON object';
  const { session_id: id, pid, pid_start_ticks: ticks } = value as Record<string, unknown>;
  if (!isValidSessionId(id)) return `its session_id ${JSON.stringify(id)} is not a valid session id`;
  if (!isValidPid(pid)) return `its pid ${JSON.stringify(pid)} is not a valid process id`;
  if (ticks !== undefined && !(typeof ticks === 'number' && Number.isSafeInteger(ticks) && ticks >= 0)) return `its pid_start_ticks ${JSON.stringify(ticks)} is not a whole number`;
  return { session_id: id, pid, ...(ticks === undefined ? {} : { pid_start_ticks: ticks }) };
}

/** The lock, or undefined when there is none or it is not a valid lock (see discardInvalidLock). */
export async function readActiveLock(recordingsDir: string): Promise<ActiveLock | undefined> {
  const lock = await readLock(recordingsDir);
  return typeof lock === 'object' ? lock : undefined;
}

/** The lock, undefined when there is none, or why the file there is not a lock. */
async function readLock(recordingsDir: string): Promise<ActiveLock | string | undefined> {
  const file = lockPath(recordingsDir);
  let value: unknown;
  try {
    value = await readJson(file);
  } catch (error) {
    if (error instanceof SyntaxError) return 'it is not valid JSON';
    // EISDIR carries no path from readFile: name the lock file in the message.
    throw recordingsDirError(recordingsDir, Object.assign(error as Error, { path: file }));
  }
  return value === undefined ? undefined : parseActiveLock(value);
}

/** True while the process that took the lock runs (not merely some process with its pid). */
export function isLockHeld(lock: ActiveLock): boolean {
  return isSameProcessAlive(lock.pid, lock.pid_start_ticks);
}

/** The lock of a session that is really recording now, or undefined. */
export async function liveLock(recordingsDir: string): Promise<ActiveLock | undefined> {
  const lock = await readActiveLock(recordingsDir);
  return lock && isLockHeld(lock) ? lock : undefined;
}

/**
 * Removes a lock file that is not a valid lock (garbage, a session id like `../x`, a bad pid);
 * returns the line that says so, or undefined if there was nothing to remove. Nothing it names
 * is used: no path is built from its id, no pid is signalled.
 */
export async function discardInvalidLock(recordingsDir: string): Promise<string | undefined> {
  const file = lockPath(recordingsDir);
  if (typeof (await readLock(recordingsDir)) !== 'string') return undefined;
  return withTakeoverGuard(file, async () => {
    const why = await readLock(recordingsDir);
    if (typeof why !== 'string') return undefined;
    await fs.rm(file, { force: true });
    return removedInvalidLock(file, why);
  });
}

function removedInvalidLock(file: string, why: string): string {
  return `removed the invalid lock file ${file}: ${why}`;
}

/**
 * Takes the lock for `sessionId`. Refuses while another live session holds it; a stale lock
 * (its pid is dead) is returned as `stale` and replaced, so the caller can recover that session.
 */
export async function acquireActiveLock(recordingsDir: string, sessionId: string): Promise<{ stale?: ActiveLock; discarded?: string }> {
  const file = lockPath(recordingsDir);
  const ticks = readStartTicks(process.pid);
  const mine = `${JSON.stringify({ session_id: sessionId, pid: process.pid, ...(ticks === undefined ? {} : { pid_start_ticks: ticks }) } satisfies ActiveLock)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await createFileDurable(file, mine);
      return {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw recordingsDirError(recordingsDir, error);
    }
    const holder = await readLock(recordingsDir);
    if (typeof holder === 'object' && isLockHeld(holder)) throw busy(holder, recordingsDir);
    // Replacing a stale lock is check-then-act: two records doing it at once could both win.
    // A takeover guard makes it one at a time; a plain create (link) never replaces, so needs none.
    const taken = await withTakeoverGuard(file, async () => {
      const current = await readLock(recordingsDir);
      if (typeof current === 'object' && isLockHeld(current)) throw busy(current, recordingsDir);
      // A lock is created whole (createFileDurable), so an invalid one is garbage, not one being written.
      await fs.rm(file, { force: true });
      try {
        await createFileDurable(file, mine);
        return typeof current === 'string' ? { discarded: removedInvalidLock(file, current) } : { stale: current };
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

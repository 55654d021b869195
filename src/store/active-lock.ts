import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SessionBusyError } from '../errors.js';
import { createFileDurable, readJson } from '../files/durable-write.js';
import { isEchologAlive, isValidPid, readStartTicks } from '../process/process-identity.js';
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
  if (ticks !== undefined && !(typeof ticks === 'number' && Number.isSafeInteger(ticks) && ticks >= 0))
    return `its pid_start_ticks ${JSON.stringify(ticks)} is not a whole number`;
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

/**
 * True while the echolog that took the lock runs: its pid, start time and an echolog command line
 * (not merely some process with its pid). `status`, `record` and every other command judge a lock
 * by this one test, so they give the same answer from the same evidence.
 */
export function isLockHeld(lock: ActiveLock): boolean {
  return isEchologAlive(lock.pid, lock.pid_start_ticks);
}

/**
 * A session that says `recording` but whose echolog is gone (killed, its lock removed by hand or
 * already replaced): the next command that sees it recovers it. `live` is the lock that proves a
 * session records now. The same identity test as isLockHeld, on the pid session.json names.
 */
export function isSessionOrphaned(
  manifest: { session_id: string; status: string; pid: number; pid_start_ticks?: number | null },
  live: ActiveLock | undefined,
): boolean {
  return (
    manifest.status === 'recording' && manifest.session_id !== live?.session_id && !isEchologAlive(manifest.pid, manifest.pid_start_ticks)
  );
}

/** The lock of a session that is really recording now, or undefined. */
export async function liveLock(recordingsDir: string): Promise<ActiveLock | undefined> {
  const lock = await readActiveLock(recordingsDir);
  return lock && isLockHeld(lock) ? lock : undefined;
}

/**
 * The lock, read once; a lock file that is not a valid lock (garbage, a session id like `../x`, a
 * bad pid) is removed and `discarded` says so. Nothing an invalid lock names is used: no path is
 * built from its id, no pid is signalled.
 */
export async function readLockDiscardingInvalid(recordingsDir: string): Promise<{ lock?: ActiveLock; discarded?: string }> {
  const file = lockPath(recordingsDir);
  const first = await readLock(recordingsDir);
  if (typeof first !== 'string') return first ? { lock: first } : {};
  return withTakeoverGuard(file, async () => {
    // Read again under the guard: a record may have replaced the invalid file with its own lock meanwhile.
    const again = await readLock(recordingsDir);
    if (typeof again !== 'string') return again ? { lock: again } : {};
    await fs.rm(file, { force: true });
    return { discarded: removedInvalidLock(file, again) };
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
  const lock: ActiveLock = { session_id: sessionId, pid: process.pid, ...(ticks === undefined ? {} : { pid_start_ticks: ticks }) };
  const mine = `${JSON.stringify(lock)}\n`;
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

/**
 * The takeover guard `<lock>.takeover`: a file created whole and exclusively (createFileDurable)
 * naming its owner, so that whether it is stale is a question of identity, not of the clock.
 */
interface GuardOwner {
  pid: number;
  pid_start_ticks?: number;
}

/** How long a takeover waits for a guard; a takeover holds it for milliseconds. Measured on the monotonic clock. */
const TAKEOVER_WAIT_MS = 3_000;
/** A guard whose mtime is older than this is stale even when its owner cannot be read: the wall clock may only shorten the wait. */
const TAKEOVER_GUARD_OLD_MS = 10_000;
const GUARD_POLL_MS = 50;
const MAX_GUARD_REMOVALS = 3;

/**
 * What a guard on disk says of its owner: `held` by a live echolog, `stale` (that process is gone), `unknown` (a folder left
 * by an older echolog, garbage), or `gone`.
 */
type GuardVerdict =
  { kind: 'held'; pid: number; text: string } | { kind: 'stale' | 'unknown'; text: string | undefined } | { kind: 'gone' };

async function judgeGuard(guard: string): Promise<GuardVerdict> {
  let text: string;
  try {
    text = await fs.readFile(guard, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'gone' };
    if (code === 'EISDIR') return { kind: 'unknown', text: undefined };
    throw error;
  }
  let owner: unknown;
  try {
    owner = JSON.parse(text);
  } catch {
    return { kind: 'unknown', text };
  }
  const { pid, pid_start_ticks: ticks } = (owner ?? {}) as Record<string, unknown>;
  if (!isValidPid(pid)) return { kind: 'unknown', text };
  return isEchologAlive(pid, typeof ticks === 'number' ? ticks : undefined) ? { kind: 'held', pid, text } : { kind: 'stale', text };
}

/**
 * Removes a stale guard only if it is still the one judged: it is renamed aside first, and a
 * guard that a live takeover made meanwhile (other text) is put back.
 */
async function removeJudgedGuard(guard: string, judged: string | undefined): Promise<void> {
  const aside = `${guard}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(guard, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const now = await fs.readFile(aside, 'utf8').catch(() => undefined);
  if (now !== judged) await fs.link(aside, guard).catch(() => undefined);
  await fs.rm(aside, { recursive: true, force: true });
}

/**
 * Runs `critical` while holding the takeover guard. A guard whose owner is not a live echolog
 * is removed at once; one whose owner cannot be read is waited for at most TAKEOVER_WAIT_MS (less
 * when its mtime is old; a guard dated in the future is waited for the full bound, never
 * forever); a live owner that holds it longer than the bound is reported as busy.
 */
async function withTakeoverGuard<T>(lockFile: string, critical: () => Promise<T>): Promise<T> {
  const guard = `${lockFile}.takeover`;
  const ticks = readStartTicks(process.pid);
  const mine = `${JSON.stringify({ pid: process.pid, ...(ticks === undefined ? {} : { pid_start_ticks: ticks }) } satisfies GuardOwner)}\n`;
  const deadline = performance.now() + TAKEOVER_WAIT_MS;
  // Bounded: by the deadline, and by MAX_GUARD_REMOVALS (stale guards do not come in streams).
  for (let removals = 0; ;) {
    try {
      await createFileDurable(guard, mine);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const verdict = await judgeGuard(guard);
    const expired = performance.now() >= deadline;
    const removable =
      verdict.kind === 'stale' || (verdict.kind === 'unknown' && (expired || (await guardAgeMs(guard)) > TAKEOVER_GUARD_OLD_MS));
    if (removable && removals < MAX_GUARD_REMOVALS) {
      await removeJudgedGuard(guard, verdict.text);
      removals++;
      continue;
    }
    if (expired) {
      const who = verdict.kind === 'held' ? `echolog pid ${verdict.pid}` : 'other takeovers';
      throw new SessionBusyError(
        `the takeover guard ${guard} is held by ${who} for more than ${TAKEOVER_WAIT_MS / 1000} s; if no echolog is starting, remove it`,
      );
    }
    // Gone: the holder has just let go, take it now.
    if (verdict.kind !== 'gone') await sleep(GUARD_POLL_MS);
  }
  try {
    return await critical();
  } finally {
    await fs.rm(guard, { force: true });
  }
}

/** The guard's age by its mtime: negative when it is dated in the future (the clock stepped back). */
async function guardAgeMs(guard: string): Promise<number> {
  return fs.lstat(guard).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
}

export async function releaseActiveLock(recordingsDir: string, sessionId: string): Promise<void> {
  const holder = await readActiveLock(recordingsDir);
  if (holder?.session_id === sessionId && holder.pid === process.pid) await fs.rm(lockPath(recordingsDir), { force: true });
}

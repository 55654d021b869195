import fs from 'node:fs/promises';
import path from 'node:path';
import type { EchologConfig } from '../config/schema.js';
import type { Writable } from 'node:stream';
import { discardInvalidLock, isLockHeld, isSessionOrphaned, lockPath, readActiveLock } from './active-lock.js';
import { checkRecordingsDir, recordingsDirError } from './recordings-dir.js';
import { readManifest, type SessionManifest } from './session-manifest.js';

/**
 * Every session folder's manifest, oldest first by `started_at`. Folder names are no order: a
 * `--session-id` is any name, and two generated ids of the same second differ only in random hex.
 */
export async function listSessions(recordingsDir: string): Promise<SessionManifest[]> {
  let names: string[];
  try {
    // Dot folders are echolog's own (the sessions index), never sessions.
    names = (await fs.readdir(recordingsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw recordingsDirError(recordingsDir, error);
  }
  const manifests = await Promise.all(names.map((name) => readManifest(path.join(recordingsDir, name)).catch(() => undefined)));
  // A folder whose session.json is not a session's (hand-edited, another tool's) is no session.
  return manifests.filter((m): m is SessionManifest => typeof m?.session_id === 'string').sort(compareByStart);
}

/**
 * Oldest first by `started_at`, ties (the same millisecond) by session id, so the order never
 * depends on the file system. A manifest from disk is untrusted: an unreadable time sorts first.
 */
export function compareByStart(a: Pick<SessionManifest, 'started_at' | 'session_id'>, b: Pick<SessionManifest, 'started_at' | 'session_id'>): number {
  const time = (m: Pick<SessionManifest, 'started_at'>): number => {
    const t = typeof m.started_at === 'string' ? Date.parse(m.started_at) : NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0;
}

/** What `status --json` prints: snake_case keys, as session.json has them. */
export interface StatusReport {
  recordings_dir: string;
  active: (SessionManifest & { elapsed_seconds: number }) | null;
  last: SessionManifest | null;
}

/**
 * What is recording now, else the last session. A session whose echolog died is recovered
 * first (marked interrupted, its unlogged chunks logged), so status never reports a ghost. The full
 * config (`loadConfig`) is needed only then.
 */
export async function sessionStatus(recordingsDir: string, loadConfig: () => Promise<EchologConfig>, stderr: Pick<Writable, 'write'>, now: Date): Promise<StatusReport> {
  if (!(await checkRecordingsDir(recordingsDir))) return { recordings_dir: recordingsDir, active: null, last: null };
  const discarded = await discardInvalidLock(recordingsDir);
  if (discarded) stderr.write(`echolog: ${discarded}\n`);
  const lock = await readActiveLock(recordingsDir);
  const live = lock && isLockHeld(lock) ? lock : undefined;
  const recover = async (sessionId: string): Promise<void> => {
    // Loaded only for a dead session: recovery writes its log, which a plain status never needs.
    const { recoverInterruptedSession } = await import('./recover-session.js');
    await recoverInterruptedSession({ recordingsDir, sessionId, config: await loadConfig(), stderr });
  };
  if (lock && !live) {
    await recover(lock.session_id);
    // A record started meanwhile has replaced the stale lock with its own: that one stays.
    const current = await readActiveLock(recordingsDir);
    if (current?.session_id === lock.session_id && current.pid === lock.pid) await fs.rm(lockPath(recordingsDir), { force: true });
  }
  if (live) {
    // Loaded only while a session records: the rebuild brings the log parser and segment lists with it (start-up time).
    const { loadManifest } = await import('./manifest-rebuild.js');
    const loaded = await loadManifest(path.join(recordingsDir, live.session_id));
    if (loaded?.rebuilt) stderr.write(`echolog: ${loaded.rebuilt}\n`);
    const manifest = loaded?.manifest;
    if (manifest) {
      const elapsed = (now.getTime() - new Date(manifest.started_at).getTime()) / 1000;
      return { recordings_dir: recordingsDir, active: { ...manifest, elapsed_seconds: elapsed }, last: null };
    }
  }
  let sessions = await listSessions(recordingsDir);
  // "recording" with no lock and its echolog gone: a session whose final session.json write
  // failed (its log ends in session_stop), or one whose lock was removed by hand. Never a ghost.
  const orphans = sessions.filter((manifest) => isSessionOrphaned(manifest, live));
  for (const orphan of orphans) await recover(orphan.session_id);
  if (orphans.length > 0) sessions = await listSessions(recordingsDir);
  return { recordings_dir: recordingsDir, active: null, last: sessions.at(-1) ?? null };
}

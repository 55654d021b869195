import fs from 'node:fs/promises';
import path from 'node:path';
import type { EchologConfig } from '../config/schema.js';
import type { Writable } from 'node:stream';
import { discardInvalidLock, isLockHeld, lockPath, readActiveLock } from './active-lock.js';
import { loadManifest } from './manifest-rebuild.js';
import { checkRecordingsDir, recordingsDirError } from './recordings-dir.js';
import { recoverInterruptedSession } from './recover-session.js';
import { readManifest, type SessionManifest } from './session-manifest.js';

/** Every session folder's manifest, oldest first (session ids sort by start time). */
export async function listSessions(recordingsDir: string): Promise<SessionManifest[]> {
  let names: string[];
  try {
    names = (await fs.readdir(recordingsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw recordingsDirError(recordingsDir, error);
  }
  const manifests = await Promise.all(names.sort().map((name) => readManifest(path.join(recordingsDir, name)).catch(() => undefined)));
  return manifests.filter((m): m is SessionManifest => m !== undefined);
}

export interface StatusReport {
  recordingsDir: string;
  active: (SessionManifest & { elapsed_seconds: number }) | null;
  last: SessionManifest | null;
}

/**
 * What is recording now, else the last session. A session whose echolog died is recovered
 * first (marked interrupted, its unlogged chunks logged), so status never reports a ghost.
 */
export async function sessionStatus(recordingsDir: string, config: EchologConfig, stderr: Pick<Writable, 'write'>, now: Date): Promise<StatusReport> {
  if (!(await checkRecordingsDir(recordingsDir))) return { recordingsDir, active: null, last: null };
  const discarded = await discardInvalidLock(recordingsDir);
  if (discarded) stderr.write(`echolog: ${discarded}\n`);
  const lock = await readActiveLock(recordingsDir);
  const live = lock && isLockHeld(lock) ? lock : undefined;
  if (lock && !live) {
    await recoverInterruptedSession({ recordingsDir, sessionId: lock.session_id, config, stderr });
    // A record started meanwhile has replaced the stale lock with its own: that one stays.
    const current = await readActiveLock(recordingsDir);
    if (current?.session_id === lock.session_id && current.pid === lock.pid) await fs.rm(lockPath(recordingsDir), { force: true });
  }
  if (live) {
    const loaded = await loadManifest(path.join(recordingsDir, live.session_id));
    if (loaded?.rebuilt) stderr.write(`echolog: ${loaded.rebuilt}\n`);
    const manifest = loaded?.manifest;
    if (manifest) {
      const elapsed = (now.getTime() - new Date(manifest.started_at).getTime()) / 1000;
      return { recordingsDir, active: { ...manifest, elapsed_seconds: elapsed }, last: null };
    }
  }
  const sessions = await listSessions(recordingsDir);
  return { recordingsDir, active: null, last: sessions.at(-1) ?? null };
}

import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EchologConfig } from '../config/schema.js';
import type { Writable } from 'node:stream';
import { readLockDiscardingInvalid, isLockHeld, isSessionOrphaned, lockPath, readActiveLock } from '../store/active-lock.js';
import { checkRecordingsDir } from '../store/recordings-dir.js';
import { readManifestOrProblemSync, type SessionManifest } from '../store/session-manifest.js';
import { noListing, sessionFolderNames, sessionsOf } from '../store/session-list.js';

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
export async function sessionStatus(
  recordingsDir: string,
  loadConfig: () => Promise<EchologConfig>,
  stderr: Pick<Writable, 'write'>,
  now: Date,
): Promise<StatusReport> {
  if (!(await checkRecordingsDir(recordingsDir))) return { recordings_dir: recordingsDir, active: null, last: null };
  const { lock, discarded } = await readLockDiscardingInvalid(recordingsDir);
  if (discarded) stderr.write(`echolog: ${discarded}\n`);
  const live = lock && isLockHeld(lock) ? lock : undefined;
  const recover = async (sessionId: string): Promise<void> => {
    // Loaded only for a dead session: recovery writes its log, which a plain status never needs.
    const { recoverInterruptedSession } = await import('../recording/recover-session.js');
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
    const { loadManifest } = await import('../store/manifest-rebuild.js');
    const loaded = await loadManifest(path.join(recordingsDir, live.session_id));
    if (loaded?.rebuilt) stderr.write(`echolog: ${loaded.rebuilt}\n`);
    const manifest = loaded?.manifest;
    if (manifest) {
      const elapsed = (now.getTime() - new Date(manifest.started_at).getTime()) / 1000;
      return { recordings_dir: recordingsDir, active: { ...manifest, elapsed_seconds: elapsed }, last: null };
    }
  }
  let sessions = listSessionsSync(recordingsDir);
  // "recording" with no lock and its echolog gone: a session whose final session.json write
  // failed (its log ends in session_stop), or one whose lock was removed by hand. Never a ghost.
  const orphans = sessions.filter((manifest) => isSessionOrphaned(manifest, live));
  for (const orphan of orphans) await recover(orphan.session_id);
  if (orphans.length > 0) sessions = listSessionsSync(recordingsDir);
  return { recordings_dir: recordingsDir, active: null, last: sessions.at(-1) ?? null };
}

/**
 * The sessions as store/session-list.ts listSessions lists them, read synchronously: status is a one-shot command
 * whose wait was mostly thread-pool round trips, four per session.json (issue 19 §5). It lives here, above
 * recording/, so that nothing in a recording's loop can import it: there a read on the main thread has no deadline.
 */
function listSessionsSync(recordingsDir: string): SessionManifest[] {
  let names: string[];
  try {
    names = sessionFolderNames(fsSync.readdirSync(recordingsDir, { withFileTypes: true }));
  } catch (error) {
    return noListing(recordingsDir, error);
  }
  return sessionsOf(names.map((name) => readManifestOrProblemSync(path.join(recordingsDir, name))));
}

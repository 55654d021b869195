import path from 'node:path';
import { SessionBusyError, UsageError } from '../errors.js';
import { isLockHeld, readActiveLock } from '../store/active-lock.js';
import { loadManifest } from '../store/manifest-rebuild.js';
import { locateSessionFolder } from '../store/session-locate.js';

/**
 * `record --resume <id>` (seed 003's soft resume): a new session linked to `id`, which must be a
 * session that exists and is not recording. Returns the id to store as `resumed_from`.
 */
export async function checkResumable(recordingsDir: string, id: string): Promise<string> {
  const dir = await locateSessionFolder(recordingsDir, id).catch((error: unknown) => {
    throw error instanceof UsageError ? new UsageError(`--resume: ${error.message}`) : error;
  });
  if (!(await loadManifest(dir))) throw new UsageError(`--resume: ${path.join(dir, 'session.json')} is missing: ${id} cannot be resumed`);
  const lock = await readActiveLock(recordingsDir);
  if (lock?.session_id === id && isLockHeld(lock)) {
    throw new SessionBusyError(`--resume ${id}: that session is still recording (pid ${lock.pid}); stop it first, then resume it`);
  }
  return id;
}

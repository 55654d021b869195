import fs from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { currentUid, trustProblem, unusablePathReason } from '../files/file-trust.js';
import { CannotCreateHereError, makeDirectories } from '../files/make-directories.js';

/**
 * The error to show for a failed operation on the recordings dir: a usage error naming the dir
 * and how to choose another when the dir is unusable (a dangling symlink, a read-only file
 * system, …), else the error itself.
 */
export function recordingsDirError(dir: string, error: unknown): unknown {
  const why = error instanceof CannotCreateHereError ? error.message : unusablePathReason(error);
  return why === undefined ? error : unusableDir(dir, why);
}

function unusableDir(dir: string, why: string): UsageError {
  return new UsageError(
    `recordings dir ${dir} cannot be used: ${why}; choose another with --recordings-dir, ECHOLOG_RECORDINGS_DIR or recordings_dir in echolog.conf`,
  );
}

/** Creates the recordings dir (private: recordings are personal) if it is missing, and checks it is trusted. */
export async function ensureRecordingsDir(dir: string): Promise<void> {
  try {
    await makeDirectories(dir, 0o700);
  } catch (error) {
    throw recordingsDirError(dir, error);
  }
  await checkRecordingsDir(dir);
}

/**
 * Refuses a recordings dir another account could write (not the user's, or group/world-writable):
 * echolog follows the locks and ids it finds there, and recovery signals pids. False when the
 * dir does not exist (nothing recorded yet).
 */
export async function checkRecordingsDir(dir: string): Promise<boolean> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (error) {
    // A dangling symlink is ENOENT too: the dir is "missing" only if nothing is at its path.
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' &&
      !(await fs.lstat(dir).then(
        () => true,
        () => false,
      ))
    )
      return false;
    throw recordingsDirError(dir, error);
  }
  if (!stat.isDirectory()) throw unusableDir(dir, 'it is not a directory');
  const problem = trustProblem(stat, currentUid());
  if (problem) throw unusableDir(dir, `${problem}: another account could plant locks and sessions in it`);
  return true;
}

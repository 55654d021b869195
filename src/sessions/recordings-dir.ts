import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Expands a leading `~` the way a shell would, so config files can say `~/recordings`. */
export function expandHome(dir: string, home: string): string {
  if (dir === '~') return home;
  if (dir.startsWith('~/')) return path.join(home, dir.slice(2));
  return dir;
}

/** File-system errors that mean the recordings dir itself is unusable: the user fixes them by choosing another. */
const UNUSABLE_DIR_CODES = new Set(['EEXIST', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS']);

/**
 * The error to show for a failed operation on the recordings dir: a usage error naming the dir
 * and how to choose another when the dir is unusable, else the error itself.
 */
export function recordingsDirError(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !UNUSABLE_DIR_CODES.has(code)) return error;
  const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'it (or a parent) is not a directory' : `it is not writable (${code})`;
  return new UsageError(`recordings dir ${dir} cannot be used: ${why}; choose another with --recordings-dir, ECHOLOG_RECORDINGS_DIR or recordings_dir in echolog.conf`);
}

/** Creates the recordings dir (private: recordings are personal) if it is missing. */
export async function ensureRecordingsDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw recordingsDirError(dir, error);
  }
}

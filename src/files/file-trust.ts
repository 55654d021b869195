import type { Stats } from 'node:fs';

/**
 * Whether a file or folder is one only the user controls, as git's `safe.directory` asks: owned
 * by the user (or by root, for a shared system file, when `rootOk`) and not writable by group or
 * others. Anything else could be changed by another account, so echolog must not act on it.
 * Returns why it is not trusted, or undefined. `uid` undefined (Windows): no check. Pure.
 */
export function trustProblem(stat: Pick<Stats, 'uid' | 'mode'>, uid: number | undefined, rootOk = false): string | undefined {
  if (uid === undefined) return undefined;
  if (stat.uid !== uid && !(rootOk && stat.uid === 0)) return `it is owned by uid ${stat.uid}, not by you (uid ${uid})`;
  const writers = [stat.mode & 0o020 ? 'group' : '', stat.mode & 0o002 ? 'others' : ''].filter(Boolean);
  if (writers.length > 0) return `it is writable by ${writers.join(' and ')} (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** The current user's uid, or undefined where there are none (Windows). */
export function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * File-system errors that mean a path itself cannot be used (the user fixes them by choosing
 * another), with what each means. Others (EIO, ENOSPC) are faults of the moment, not of the path.
 */
const UNUSABLE_PATH_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'it, or a symlink on its way, points to nothing',
  ELOOP: 'a symlink on its way points back to itself (a loop)',
  ENOTDIR: 'it (or a parent) is not a directory',
  EEXIST: 'it (or a parent) is not a directory',
  EISDIR: 'a file echolog keeps in it is a directory',
  EROFS: 'it is on a read-only file system',
  EACCES: 'it is not writable (EACCES)',
  EPERM: 'it is not writable (EPERM)',
};

/** Why a failed operation makes the path unusable, or undefined when the error is not about the path. */
export function unusablePathReason(error: unknown): string | undefined {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (code === 'EISDIR' && path) return `${path} is a directory, not a file`;
  return code === undefined ? undefined : UNUSABLE_PATH_REASONS[code];
}

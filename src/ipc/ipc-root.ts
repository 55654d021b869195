import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { currentUid, trustProblem } from '../files/file-trust.js';
import { makeDirectories } from '../files/make-directories.js';
import { UsageError } from '../errors.js';
import type { IpcPaths } from './ipc-paths.js';

/**
 * Safety of the IPC root. Whoever can write in it can feed the daemon requests (it reads any
 * audio file the user can read) or answer a client in the daemon's name, so the root must be the
 * user's own, or a shared sticky dir such as /tmp, where echolog keeps its request and response
 * dirs private (0700) and refuses ones another account made.
 */
export type RootKind = { kind: 'private' } | { kind: 'shared' } | { kind: 'refused'; why: string };

/** Is `stat` (an lstat) of the root usable, and how? Pure. */
export function judgeRoot(
  stat: Pick<Stats, 'uid' | 'mode'> & { isSymbolicLink(): boolean; isDirectory(): boolean },
  uid: number | undefined,
): RootKind {
  if (stat.isSymbolicLink()) return { kind: 'refused', why: 'it is a symlink (give the real path)' };
  if (!stat.isDirectory()) return { kind: 'refused', why: 'it is not a directory' };
  // /tmp itself: world-writable with the sticky bit (others cannot rename or delete our files), owned by root or us.
  const sticky = (stat.mode & 0o1000) !== 0 && (stat.mode & 0o002) !== 0;
  if (sticky && (uid === undefined || stat.uid === 0 || stat.uid === uid)) return { kind: 'shared' };
  const problem = trustProblem(stat, uid);
  return problem ? { kind: 'refused', why: problem } : { kind: 'private' };
}

/** A request or response dir inside the root: a real dir of ours that no one else can write. Pure. */
export function judgeSubdir(
  stat: Pick<Stats, 'uid' | 'mode'> & { isSymbolicLink(): boolean; isDirectory(): boolean },
  uid: number | undefined,
): string | undefined {
  if (stat.isSymbolicLink()) return 'it is a symlink';
  if (!stat.isDirectory()) return 'it is not a directory';
  return trustProblem(stat, uid);
}

export class IpcRootError extends UsageError {}

/** The root cannot be used (exit 2), and why. */
export function unusableRoot(dir: string, why: string): IpcRootError {
  return new IpcRootError(`IPC root ${dir} cannot be used: ${why}; choose another with --ipc-root or transcription.daemon_ipc_root`);
}

/**
 * Checks the root and its two dirs; with `create` (the daemon) makes what is missing, 0700.
 * Returns the root's kind; `missing` (only without `create`) when the root does not exist.
 */
export async function checkIpcRoot(paths: IpcPaths, create: boolean): Promise<RootKind['kind'] | 'missing'> {
  const uid = currentUid();
  let stat: Stats;
  try {
    stat = await fs.lstat(paths.root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unusableRoot(paths.root, (error as Error).message);
    if (!create) return 'missing';
    // Bounded mkdir -p: Node's recursive mkdir spins for ever under /proc.
    await makeDirectories(paths.root, 0o700).catch((e: Error) => {
      throw unusableRoot(paths.root, e.message);
    });
    stat = await fs.lstat(paths.root);
  }
  const root = judgeRoot(stat, uid);
  if (root.kind === 'refused') throw unusableRoot(paths.root, root.why);
  for (const dir of [paths.requests, paths.responses]) {
    let sub: Stats;
    try {
      sub = await fs.lstat(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unusableRoot(paths.root, `${dir}: ${(error as Error).message}`);
      // A reader only needs them once a daemon is ready, and a ready daemon has made them.
      if (!create) continue;
      // Not recursive: in a shared root another account could have made it a moment ago; EEXIST then, and the lstat below judges it.
      await fs.mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      sub = await fs.lstat(dir);
    }
    const problem = judgeSubdir(sub, uid);
    if (problem) throw unusableRoot(paths.root, `${dir}: ${problem}`);
  }
  return root.kind;
}

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { currentUid, trustProblem } from '../files/file-trust.js';

/** A config file is a page of settings; anything bigger is not one, and is not read into memory. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

export type CandidateRead =
  | { kind: 'missing' }
  /** `text`: what an untrusted regular file holds, only to tell whether it is meant for echolog (a package.json's key). */
  | { kind: 'untrusted'; problem: string; text?: string }
  | { kind: 'read'; text: string };

/**
 * A folder the search looks in, opened once: its candidates are opened through the open folder
 * (Linux's /proc/self/fd/N/name, an openat(2)), so the folder judged is the folder read, even
 * if a name on its path is swapped meanwhile.
 */
export interface SearchFolder {
  path: string;
  /** Why another account could change names in it (group/other-writable, sticky or not, or not yours or root's); undefined when none can. */
  writableByOthers: string | undefined;
  entry(name: string): string;
  close(): Promise<void>;
}

/**
 * Undefined when the folder does not exist or cannot be opened: it holds no config then.
 * The search is synchronous: it runs once, at start-up, before anything else, and is a dozen
 * metadata calls (mostly ENOENT), each of which was a round trip through the thread pool that a
 * busy machine stretches (`status`'s start-up, issue 19 §5).
 */
export async function openSearchFolder(dir: string): Promise<SearchFolder | undefined> {
  let fd: number;
  try {
    fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  } catch {
    return undefined;
  }
  const stat = fs.fstatSync(fd);
  const viaProc = fs.existsSync(`/proc/self/fd/${fd}`);
  return {
    path: dir,
    writableByOthers: trustProblem(stat, currentUid(), true),
    entry: (name) => (viaProc ? `/proc/self/fd/${fd}/${name}` : path.join(dir, name)),
    close: async () => fs.closeSync(fd),
  };
}

/**
 * Check and use in one step (OpenSSH's StrictModes, git's safe.directory): the candidate is opened
 * once, the open descriptor is judged (a regular file, yours or root's, not writable by group or
 * others: its `ffmpeg.path` is run) and what is parsed is what was read from that descriptor.
 * A path-based stat and then a read is a race another account wins by swapping the name.
 *
 * Symlinks: in a folder only you (or root) can change, a symlinked config (a dotfile manager's)
 * is followed and its target judged. In a folder another account can write (a sticky /tmp-like
 * one) the name itself is theirs to choose and swap, so a symlink there is not followed
 * (O_NOFOLLOW) and is skipped; `followSymlinks: true` (--config, a path the user named) follows.
 *
 * `file` names the candidate in messages; `openPath` is where it is opened (SearchFolder.entry).
 */
export async function readTrustedFile(
  file: string,
  options: { openPath?: string; folderWritableByOthers?: string; followSymlinks?: boolean },
): Promise<CandidateRead> {
  const openPath = options.openPath ?? file;
  const noFollow = !options.followSymlinks && options.folderWritableByOthers !== undefined;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not block the open; fstat refuses it below.
    fd = fs.openSync(openPath, O_RDONLY | O_NONBLOCK | (noFollow ? O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP' && noFollow)
      return { kind: 'untrusted', problem: `it is a symlink in a folder another account can change (${options.folderWritableByOthers})` };
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message.replaceAll(openPath, file)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw new ConfigError(`config file ${file} is a directory`);
    if (!stat.isFile()) return { kind: 'untrusted', problem: 'it is not a regular file' };
    const problem = trustProblem(stat, currentUid(), true);
    if (problem) return { kind: 'untrusted', problem, text: readBoundedOrUndefined(fd, file) };
    return { kind: 'read', text: readBounded(fd, file) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole file, read from the descriptor in one buffer of at most MAX_CONFIG_BYTES + 1. */
function readBounded(fd: number, file: string): string {
  const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
  let filled = 0;
  // Bounded by the buffer: each pass reads at least one byte or ends.
  while (filled < buffer.length) {
    const bytesRead = fs.readSync(fd, buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (filled > MAX_CONFIG_BYTES)
    throw new ConfigError(`config file ${file} is larger than ${MAX_CONFIG_BYTES / 1024} KiB: not a config file`);
  return buffer.toString('utf8', 0, filled);
}

function readBoundedOrUndefined(fd: number, file: string): string | undefined {
  try {
    return readBounded(fd, file);
  } catch {
    return undefined;
  }
}

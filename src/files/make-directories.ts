import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` with a bound. Node's `fs.mkdir(dir, { recursive: true })` retries for ever when
 * mkdir(2) says ENOENT under a parent that exists (any path under /proc/self, which refuses new
 * entries that way): echolog spun at 100 % CPU, deaf to SIGTERM. Here each missing ancestor is
 * created once, top-down, and the first failure is thrown (ENOENT under an existing parent as
 * `CannotCreateHereError`, which says why).
 */
export async function makeDirectories(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  // Bounded by the path's depth: each pass goes one level up and the root always exists.
  for (let at = path.resolve(dir); !(await exists(at)); at = path.dirname(at)) {
    if (path.dirname(at) === at) break;
    missing.push(at);
  }
  for (const folder of missing.reverse()) {
    try {
      await fs.mkdir(folder, { mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // made meanwhile by someone else; whether it is a folder is the caller's check
      if (code === 'ENOENT') throw new CannotCreateHereError(folder, error as Error);
      throw error;
    }
  }
}

/** mkdir said ENOENT although the parent exists: the file system takes no new folders there (/proc, /sys). */
export class CannotCreateHereError extends Error {
  readonly code = 'ENOENT';
  constructor(
    readonly folder: string,
    cause: Error,
  ) {
    super(`its file system takes no new folders (mkdir ${folder}: ENOENT although ${path.dirname(folder)} exists)`, { cause });
  }
}

async function exists(at: string): Promise<boolean> {
  try {
    await fs.stat(at);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

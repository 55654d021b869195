import fs from 'node:fs/promises';
import path from 'node:path';
import { MIB } from '../format-bytes.js';

/**
 * The free-space guard (`recording.min_free_mb`): refuse to start below it, warn at 4× it, stop
 * at it. `diskVerdict` is pure; `freeBytes` asks the file system (statfs).
 */
export type DiskVerdict = 'off' | 'ok' | 'low' | 'too_low';

export const WARN_FACTOR = 4;

export function diskVerdict(freeBytes: number, minFreeMb: number): DiskVerdict {
  if (minFreeMb <= 0) return 'off';
  if (freeBytes < minFreeMb * MIB) return 'too_low';
  return freeBytes < WARN_FACTOR * minFreeMb * MIB ? 'low' : 'ok';
}

/**
 * Bytes an unprivileged writer may still use on the file system of `dir`, or of its nearest
 * existing parent (the recordings dir may not exist yet, and must not be created to ask).
 */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(await nearestExisting(dir));
  return stats.bavail * stats.bsize;
}

/** Whether this process may write in `dir` (or its nearest existing parent): not read-only, not another's. */
export async function canWriteIn(dir: string): Promise<boolean> {
  return fs.access(await nearestExisting(dir), fs.constants.W_OK).then(
    () => true,
    () => false,
  );
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir);
  // Bounded by the path's depth: each pass goes one folder up, and the root exists.
  for (;;) {
    try {
      await fs.stat(current);
      return current;
    } catch (error) {
      const parent = path.dirname(current);
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw error;
      current = parent;
    }
  }
}

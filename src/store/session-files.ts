import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes of the regular files in a session folder and its sub-folders (debug/), without following
 * symlinks: what deleting the session frees.
 */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(file);
    else if (entry.isFile()) total += (await fs.lstat(file).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

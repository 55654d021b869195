import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { isValidSessionId } from './session-id.js';
import { MANIFEST_NAME } from './session-manifest.js';

/**
 * The folder of session `id`, refusing anything but a real session folder directly inside the
 * recordings dir: an id is a name, never a path (`../x`, `a/b`, `/abs` are refused before any
 * file is touched), a symlink is not followed out of the dir, and a folder without session.json
 * is not a session (a corrupt one is: it can be rebuilt). Every refusal is a usage error (exit 2).
 */
export async function locateSessionFolder(recordingsDir: string, id: string): Promise<string> {
  if (!isValidSessionId(id)) {
    throw new UsageError(`${JSON.stringify(id)} is not a session id: an id is the name of a folder directly inside ${recordingsDir} (1-128 letters, digits, '.', '_' or '-', starting with a letter or digit), never a path`);
  }
  const dir = path.join(recordingsDir, id);
  const stat = await fs.lstat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UsageError(`no session ${id} in ${recordingsDir} (see echolog sessions list)`);
    throw error;
  });
  if (!stat.isDirectory()) throw new UsageError(`${dir} is not a session folder (it is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'})`);
  if (!(await fs.lstat(path.join(dir, MANIFEST_NAME)).then((s) => s.isFile(), () => false))) throw new UsageError(`${dir} is not an echolog session folder (no ${MANIFEST_NAME})`);
  return dir;
}

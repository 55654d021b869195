import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { currentUid } from '../files/file-trust.js';
import { isValidSessionId } from './session-id.js';
import { MANIFEST_NAME } from './session-manifest.js';

/** Where session `id` is, or why there is no session folder of that name to act on. */
export type SessionFolder = { ok: true; dir: string } | { ok: false; missing: boolean; why: string };

/**
 * The one rule every command (record, status, recovery, sessions, export, transcribe) applies
 * before it reads or writes a session folder: a real folder of the user's directly inside the
 * recordings dir, holding a session.json file. An id is a name, never a path (`../x`, `a/b`,
 * `/abs` are refused before any file is touched); the folder is opened without following a
 * symlink (O_NOFOLLOW) and judged by that open descriptor, so a symlink planted under the id's
 * name never leads a recovery or an export elsewhere. A corrupt session.json still counts: it can
 * be rebuilt.
 */
export async function judgeSessionFolder(recordingsDir: string, id: string): Promise<SessionFolder> {
  if (!isValidSessionId(id)) {
    return {
      ok: false,
      missing: false,
      why:
        `${JSON.stringify(id)} is not a session id: an id is the name of a folder directly inside ${recordingsDir} ` +
        "(1-128 letters, digits, '.', '_' or '-', starting with a letter or digit), never a path",
    };
  }
  const dir = path.join(recordingsDir, id);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, why: `no session ${id} in ${recordingsDir} (see echolog sessions list)` };
    // O_DIRECTORY | O_NOFOLLOW on a symlink fails with ENOTDIR (or ELOOP): lstat only words the refusal.
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const symlink = await fs.lstat(dir).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      return { ok: false, missing: false, why: `${dir} is not a session folder (it is ${symlink ? 'a symlink' : 'not a directory'})` };
    }
    throw error;
  }
  try {
    const stat = await handle.stat();
    const uid = currentUid();
    if (uid !== undefined && stat.uid !== uid)
      return { ok: false, missing: false, why: `${dir} is not a session folder of yours (it is owned by uid ${stat.uid})` };
  } finally {
    await handle.close();
  }
  if (
    !(await fs.lstat(path.join(dir, MANIFEST_NAME)).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return { ok: false, missing: true, why: `${dir} is not an echolog session folder (no ${MANIFEST_NAME})` };
  return { ok: true, dir };
}

/** The folder of session `id` by judgeSessionFolder's rule; every refusal is a usage error (exit 2). */
export async function locateSessionFolder(recordingsDir: string, id: string): Promise<string> {
  const folder = await judgeSessionFolder(recordingsDir, id);
  if (!folder.ok) throw new UsageError(folder.why);
  return folder.dir;
}

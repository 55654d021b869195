import fs from 'node:fs/promises';
import { currentUid } from './file-trust.js';

/** A small file's text, or why it is not one the user can trust, or undefined when there is none. */
export type OwnFileRead = { text: string } | { untrusted: string } | undefined;

/**
 * Reads a small file (a marker, a status) only if it is a regular file of the user's, judged on
 * the open descriptor: opened once without following a symlink (O_NOFOLLOW), without blocking on
 * a FIFO planted under its name (O_NONBLOCK), then fstat'ed and read from that descriptor. In a
 * shared dir such as /tmp another account can create the name first; its file is never believed.
 * At most `maxBytes` are read.
 */
export async function readOwnFile(file: string, maxBytes = 64 * 1024): Promise<OwnFileRead> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') return { untrusted: `${file} is a symlink` };
    if (code === 'EACCES' || code === 'EPERM') return { untrusted: `${file} is not readable by you (${code}): another account's file` };
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { untrusted: `${file} is not a regular file` };
    const uid = currentUid();
    if (uid !== undefined && stat.uid !== uid) return { untrusted: `${file} is owned by uid ${stat.uid}, not by you (uid ${uid})` };
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { text: buffer.subarray(0, bytesRead).toString('utf8') };
  } finally {
    await handle.close();
  }
}

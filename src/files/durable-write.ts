import { randomBytes } from 'node:crypto';
import fsCallbacks from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `text` so that after a crash or power loss the file is either the old one or the new
 * one, never empty or half-written: a temp file in the same folder → write → fsync → rename →
 * fsync the folder (the rename itself is only durable once the folder is; see SQLite's
 * "atomic commit" notes). The temp file is removed if any step fails, so no `*.tmp` is left.
 */
export function writeFileDurable(file: string, text: string): Promise<void> {
  return viaTempFile(file, text, (temporary) => fs.rename(temporary, file));
}

/**
 * Creates `file` with `text`, durably, only if it does not exist (rejects with EEXIST): a lock.
 * The content is complete before the name appears (a hard link of the synced temp file), so a
 * reader never sees an empty or half-written lock.
 */
export function createFileDurable(file: string, text: string): Promise<void> {
  return viaTempFile(file, text, async (temporary) => {
    await fs.link(temporary, file);
    await fs.rm(temporary);
  });
}

/**
 * Replaces `file` atomically (temp file + rename: a reader sees the old or the new file, never
 * half of one) without the fsyncs: for files that are worthless after a power loss anyway (a
 * daemon's responses and status, which describe a process that is gone then) and are written
 * where an fsync under disk load would cost a waiting client tens of milliseconds.
 */
export function writeFileAtomic(file: string, text: string): Promise<void> {
  return viaTempFile(file, text, (temporary) => fs.rename(temporary, file), false);
}

async function viaTempFile(file: string, text: string, publish: (temporary: string) => Promise<void>, sync = true): Promise<void> {
  // Unique per call: two writers of one file (two lock takers in one process) never share a temp file.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (sync) {
      const handle = await fs.open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } else {
      // Nothing to fsync: the callback writeFile (open, write, close on a plain descriptor) spares a
      // FileHandle and its promises. session.json's chunk counts are written so, every chunk at live
      // pace (issue 19).
      await new Promise<void>((resolve, reject) =>
        fsCallbacks.writeFile(temporary, text, { mode: 0o600 }, (error) => (error ? reject(error) : resolve())),
      );
    }
    await publish(temporary);
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  if (sync) await syncDir(path.dirname(file));
}

/** JSON as `writeFileDurable` writes it; `value` is serialized at the call, not when the write starts. */
export function writeJsonDurable(file: string, value: unknown): Promise<void> {
  return writeFileDurable(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Makes a rename or create in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The parsed file, or undefined if it does not exist; a file that does not parse rejects with a SyntaxError. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

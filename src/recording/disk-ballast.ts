import fs from 'node:fs/promises';
import path from 'node:path';

export const BALLAST_NAME = '.ballast';

/** Enough for session_stop, session.json and the lock's removal, many times over. */
export const BALLAST_BYTES = 1024 * 1024;

/**
 * Room held back at session start so that the final records (session_stop, the final
 * session.json) can be written when the disk fills up: released just before they are written.
 * A ballast file also holds an inode, which matters when the inodes run out rather than the bytes.
 * If the disk cannot spare it at start, there is simply no ballast: recording does not depend on it.
 */
export class DiskBallast {
  private constructor(
    readonly file: string,
    readonly bytes: number,
  ) {}

  static async reserve(dir: string, bytes = BALLAST_BYTES): Promise<DiskBallast> {
    const file = path.join(dir, BALLAST_NAME);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, 'w', 0o600);
      // Real bytes, not a sparse file: a hole reserves nothing.
      const block = Buffer.alloc(64 * 1024);
      for (let written = 0; written < bytes; written += block.length) await handle.write(block, 0, Math.min(block.length, bytes - written));
      await handle.sync();
      await handle.close();
      return new DiskBallast(file, bytes);
    } catch {
      await handle?.close().catch(() => undefined);
      await fs.rm(file, { force: true }).catch(() => undefined);
      return new DiskBallast(file, 0);
    }
  }

  /** Frees the room; safe to call twice, and never throws (the folder may be gone). */
  async release(): Promise<void> {
    await fs.rm(this.file, { force: true }).catch(() => undefined);
  }
}

/**
 * Errors that mean the session's storage can no longer take its writes: the session must stop
 * (with reason `disk_full`, or `error` for the others) instead of carrying on and failing later.
 */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const BROKEN_CODES = new Set(['EIO', 'EROFS', 'ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

export type StorageFault = { kind: 'disk_full' | 'storage_error'; code: string; message: string };

/** Pure: the storage fault an error is, or undefined for anything else. */
export function classifyStorageError(error: unknown): StorageFault | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const message = (error as Error).message;
  if (FULL_CODES.has(code)) return { kind: 'disk_full', code, message };
  if (BROKEN_CODES.has(code)) return { kind: 'storage_error', code, message };
  return undefined;
}

/** ffmpeg's own words for a full disk, on its stderr. */
export function isDiskFullLine(line: string): boolean {
  return /No space left on device|Disk quota exceeded|File too large/i.test(line);
}

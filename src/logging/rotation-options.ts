import type { EchologConfig } from '../config/schema.js';
import type { TimeRotationRule } from './time-rotation.js';

export type RotationConfig = Pick<EchologConfig['logging'], 'rotation' | 'max_bytes' | 'backup_count' | 'time_when' | 'utc'>;

/** How session.log rolls over: never, by size (RotatingFileHandler) or by time (TimedRotatingFileHandler). */
export type RotationPlan =
  | { kind: 'none' }
  | { kind: 'size'; maxBytes: number; backupCount: number }
  | { kind: 'time'; rule: TimeRotationRule; backupCount: number };

/**
 * The rotation policy for a config, as Python's logging.handlers does it.
 *
 * `size`: backups `session.log.1` (newest) … `session.log.N`; nothing beyond N is kept.
 * `backup_count: 0` never rotates, as RotatingFileHandler ("if either maxBytes or backupCount is
 * zero, rollover never occurs") — one file that grows.
 *
 * `time`: see time-rotation.ts (`backup_count: 0` keeps every backup, as Python does).
 * `off`: one file, never rotated.
 */
export function planRotation(rotation: RotationConfig): RotationPlan {
  switch (rotation.rotation) {
    case 'off':
      return { kind: 'none' };
    case 'size':
      if (rotation.backup_count === 0) return { kind: 'none' };
      return { kind: 'size', maxBytes: rotation.max_bytes, backupCount: rotation.backup_count };
    case 'time':
      return { kind: 'time', rule: { when: rotation.time_when, utc: rotation.utc }, backupCount: rotation.backup_count };
  }
}

/**
 * CPython's RotatingFileHandler.shouldRollover: roll over BEFORE the write that would make the
 * file reach `maxBytes` (`pos + len(msg) >= maxBytes`), so no backup exceeds it unless a single
 * line is that long (Python counts the characters of a text stream; we count bytes, which is what
 * max_bytes says). A file holding nothing yet is never rolled over (gh-116263); for us that
 * includes a file holding only its continuation header, or a long line would rotate forever.
 */
export function sizeRolloverDue(fileBytes: number, headerBytes: number, lineBytes: number, maxBytes: number): boolean {
  if (fileBytes <= headerBytes) return false;
  return fileBytes + lineBytes >= maxBytes;
}

/**
 * The renames of a size rollover, in order (CPython's doRollover): `.N-1` → `.N`, …, `.1` → `.2`,
 * then the active file → `.1`. Each rename replaces its target, so `.N` drops off the end.
 */
export function sizeRolloverRenames(filePath: string, backupCount: number): Array<[from: string, to: string]> {
  const renames: Array<[string, string]> = [];
  for (let i = backupCount - 1; i >= 1; i--) renames.push([`${filePath}.${i}`, `${filePath}.${i + 1}`]);
  renames.push([filePath, `${filePath}.1`]);
  return renames;
}

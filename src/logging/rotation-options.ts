import type { Options as RotatingOptions } from 'rotating-file-stream';
import type { EchologConfig } from '../config/schema.js';
import type { TimeRotationRule } from './time-rotation.js';

export type RotationConfig = Pick<EchologConfig['logging'], 'rotation' | 'max_bytes' | 'backup_count' | 'time_when' | 'utc'>;

/** How session.log is written: one plain file, rotating-file-stream by size, or our time rotation. */
export type RotationPlan =
  | { kind: 'plain' }
  | { kind: 'size'; options: RotatingOptions }
  | { kind: 'time'; rule: TimeRotationRule; backupCount: number };

/**
 * The writer for a rotation config.
 *
 * `size`: rotating-file-stream's classical logrotate mode names backups as Python's
 * RotatingFileHandler does: `session.log.1` (newest) … `session.log.N`, and renames N-1 over N,
 * so nothing beyond N is kept. rfs checks the size after each write, so a file may end up to one
 * line over `max_bytes` (Python rotates before the write that would cross it); a single write
 * is never split. `backup_count: 0` never rotates, as RotatingFileHandler ("if either maxBytes or
 * backupCount is zero, rollover never occurs") — one file that grows.
 *
 * `time`: see time-rotation.ts (Python's TimedRotatingFileHandler; `backup_count: 0` keeps every
 * backup, as Python does). `off`: one file, never rotated.
 */
export function planRotation(rotation: RotationConfig, dir: string): RotationPlan {
  switch (rotation.rotation) {
    case 'off':
      return { kind: 'plain' };
    case 'size':
      if (rotation.backup_count === 0) return { kind: 'plain' };
      return { kind: 'size', options: { path: dir, size: `${rotation.max_bytes}B`, rotate: rotation.backup_count } };
    case 'time':
      return { kind: 'time', rule: { when: rotation.time_when, utc: rotation.utc }, backupCount: rotation.backup_count };
  }
}

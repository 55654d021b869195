import type { Options as RotatingOptions } from 'rotating-file-stream';
import type { EchologConfig } from '../config/schema.js';

export type RotationConfig = Pick<EchologConfig['logging'], 'rotation' | 'max_bytes' | 'backup_count' | 'time_when' | 'utc'>;

/**
 * rotating-file-stream options for a rotation config; undefined means a plain file, never rotated.
 * Size rotation uses rfs's classical logrotate mode, which names backups as Python's
 * RotatingFileHandler does: session.log.1 (newest) … session.log.N.
 */
export function rotatingStreamOptions(rotation: RotationConfig, dir: string): RotatingOptions | undefined {
  if (rotation.rotation === 'off') return undefined;
  if (rotation.rotation === 'size') {
    if (rotation.backup_count === 0) return undefined; // as RotatingFileHandler: no backups means never roll over
    return { path: dir, size: `${rotation.max_bytes}B`, rotate: rotation.backup_count };
  }
  return {
    path: dir,
    interval: intervalFor(rotation.time_when),
    intervalUTC: rotation.utc,
    maxFiles: rotation.backup_count,
  };
}

function intervalFor(when: RotationConfig['time_when']): string {
  switch (when) {
    case 'S':
      return '1s';
    case 'M':
      return '1m';
    case 'H':
      return '1h';
    case 'D':
    case 'midnight':
      return '1d';
    default:
      return '7d';
  }
}

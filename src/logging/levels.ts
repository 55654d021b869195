import type { LogLevel } from '../config/schema.js';
import type { LevelName } from './line-format.js';

/** Numeric levels: lower is more severe. */
export const LEVEL_PRIORITY: Readonly<Record<LogLevel, number>> = { error: 0, warning: 1, info: 2, debug: 3 };

export const LEVEL_NAME: Readonly<Record<LogLevel, LevelName>> = {
  error: 'ERROR',
  warning: 'WARNING',
  info: 'INFO',
  debug: 'DEBUG',
};

export function isLevelEnabled(threshold: LogLevel, level: LogLevel): boolean {
  return LEVEL_PRIORITY[level] <= LEVEL_PRIORITY[threshold];
}

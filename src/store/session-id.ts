import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import { compactTimestamp } from '../logging/line-format.js';

/** `20261122T032502Z-9f3a1c`: unique, filesystem-safe, and sorting by name sorts by start time. */
export function newSessionId(now: Date, random: () => string = () => randomBytes(3).toString('hex')): string {
  return `${compactTimestamp(now)}-${random()}`;
}

const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The same rule for an id read from disk (a lock, a manifest): untrusted until it passes, as it becomes a path. */
export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && VALID_ID.test(id);
}

export function validateSessionId(id: string): string {
  if (!isValidSessionId(id)) {
    throw new UsageError(
      `--session-id ${JSON.stringify(id)} is not allowed: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

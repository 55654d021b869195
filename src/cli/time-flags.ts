import { hasDurationUnits, parseDurationSeconds } from '../config/duration.js';
import { UsageError } from '../errors.js';

/**
 * Parsers for the time flags of `echolog sessions`: durations (`--older-than 7d`) and points in
 * time (`--since 2026-11-22`, `--since 2h` = two hours ago), in echolog's one duration syntax
 * (src/config/duration.ts), always with a unit: a bare `30` would be read as seconds, and
 * `sessions delete --older-than 30` meant as days would delete everything. Pure; errors name the
 * flag and value.
 */
const WITH_A_UNIT = 'a duration with a unit (30d, 12h, 1w, 1h30m; s, m, h, d, w, up to 3650d)';

/** Milliseconds of a duration like `1h30m` (a unit is required). */
export function parseDuration(text: string, flag: string): number {
  const seconds = hasDurationUnits(text) ? parseDurationSeconds(text) : undefined;
  if (seconds === undefined) throw new UsageError(`${flag} ${JSON.stringify(text)} is not allowed: give ${WITH_A_UNIT}`);
  return seconds * 1000;
}

/** An ISO 8601 date or date-time (UTC unless it says otherwise), or a duration meaning that long before `now`. */
export function parseTimeBound(text: string, flag: string, now: Date): Date {
  const trimmed = text.trim();
  const ago = hasDurationUnits(trimmed) ? parseDurationSeconds(trimmed) : undefined;
  if (ago !== undefined) return new Date(now.getTime() - ago * 1000);
  // A bare date or a date-time without a zone is UTC, like every time echolog writes.
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(trimmed)
    ? `${trimmed}T00:00:00Z`
    : /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(trimmed)
      ? `${trimmed}Z`
      : trimmed;
  const time = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : NaN;
  if (Number.isNaN(time))
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} is not allowed: give a date (2026-11-22), a UTC date-time (2026-11-22T03:25:00Z), or how long ago as ${WITH_A_UNIT}`,
    );
  return new Date(time);
}

/** A whole number ≥ `min` (`--limit`, `--offset`). */
export function parseCount(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not allowed: give a whole number of at least ${min}`);
  return n;
}

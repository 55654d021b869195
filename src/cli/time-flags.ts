import { UsageError } from '../errors.js';

/**
 * Parsers for the time flags of `echolog sessions`: durations (`--older-than 7d`) and points in
 * time (`--since 2026-11-22`, `--since 2h` = two hours ago). Pure; errors name the flag and value.
 */
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:\.\d+)?[smhdw])+$/;
const DURATION_HELP = 'give a duration such as 90s, 30m, 12h, 7d, 2w or 1h30m';

/** Milliseconds of a duration like `1h30m`. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) throw new UsageError(`${flag} ${JSON.stringify(text)} is not allowed: ${DURATION_HELP}`);
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(amount) * UNIT_MS[unit!]!;
  return ms;
}

/** An ISO 8601 date or date-time (UTC unless it says otherwise), or a duration meaning that long before `now`. */
export function parseTimeBound(text: string, flag: string, now: Date): Date {
  const trimmed = text.trim();
  if (DURATION.test(trimmed)) return new Date(now.getTime() - parseDuration(trimmed, flag));
  // A bare date or a date-time without a zone is UTC, like every time echolog writes.
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(trimmed) ? `${trimmed}Z` : trimmed;
  const time = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : NaN;
  if (Number.isNaN(time)) throw new UsageError(`${flag} ${JSON.stringify(text)} is not allowed: give a date (2026-11-22), a UTC date-time (2026-11-22T03:25:00Z), or a duration ago (${DURATION_HELP.replace('give a duration such as ', '')})`);
  return new Date(time);
}

/** A whole number ≥ `min` (`--limit`, `--offset`). */
export function parseCount(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} ${JSON.stringify(text)} is not allowed: give a whole number of at least ${min}`);
  return n;
}

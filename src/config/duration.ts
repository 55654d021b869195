/**
 * The one duration syntax of echolog: plain seconds (`90`, `2.5`) or amounts with units, each unit
 * at most once, in any order (`5s`, `1m`, `1h30m`, `7d`, `2w`), up to ten years. Used by every flag
 * that takes a duration (`--duration`, `--segment-time`, `--timeout`, `--older-than`,
 * `--since`/`--until` as a time ago). Pure; no imports, so any command may load it for free.
 */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const WITH_UNITS = /^(?:\d+(?:\.\d+)?[smhdw])+$/;
const PLAIN_SECONDS = /^\d+(?:\.\d+)?$/;
/** Beyond any recording or retention anyone means; keeps every result a finite, exact number. */
const MAX_SECONDS = 10 * 365 * 86_400;

/** What the syntax allows, in words, for error messages. */
export const DURATION_SYNTAX = 'seconds (90, 2.5) or amounts of s, m, h, d, w (5s, 1m, 1h30m, 7d), up to 3650d';

/** True when `text` is written with units (`1h30m`), as opposed to a plain number of seconds or anything else. */
export function hasDurationUnits(text: string): boolean {
  return WITH_UNITS.test(text.trim());
}

/** Seconds of `text`, or undefined when it is not a duration (a repeated unit, or more than ten years, is not). */
export function parseDurationSeconds(text: string): number | undefined {
  const trimmed = text.trim();
  let seconds: number;
  if (PLAIN_SECONDS.test(trimmed)) seconds = Number(trimmed);
  else if (WITH_UNITS.test(trimmed)) {
    seconds = 0;
    const seen = new Set<string>();
    for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) {
      if (seen.has(unit!)) return undefined;
      seen.add(unit!);
      seconds += Number(amount) * UNIT_SECONDS[unit!]!;
    }
  } else return undefined;
  return Number.isFinite(seconds) && seconds <= MAX_SECONDS ? seconds : undefined;
}

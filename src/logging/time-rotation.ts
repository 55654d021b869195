import type { TimeWhen } from '../config/schema.js';

/**
 * When a time-rotated session.log rolls over and what its backup is called, as Python's
 * logging.handlers.TimedRotatingFileHandler does it (CPython Lib/logging/handlers.py,
 * computeRollover / doRollover, with interval=1 and atTime=None). Pure functions of the clock.
 *
 * - `S`, `M`, `H`, `D`: one second/minute/hour/day after the file was opened (not aligned to
 *   the clock), then one unit after each rollover.
 * - `midnight`: at the next 00:00.
 * - `W0`–`W6` (0 = Monday): at the midnight that ends that weekday, i.e. 00:00 of the next day,
 *   which is what CPython computes when no atTime is given.
 * - A backup is named `session.log.<start of the period it covers>` with Python's suffixes:
 *   `%Y-%m-%d_%H-%M-%S` (S), `%Y-%m-%d_%H-%M` (M), `%Y-%m-%d_%H` (H), `%Y-%m-%d` (D, midnight, W).
 * - Times are UTC when `utc`, else the local time zone. Rollover is lazy, as in Python: it happens
 *   on the first write at or after the boundary, so no empty backups are made while nothing is
 *   logged and a line is never split.
 *
 * rotating-file-stream 3.2 is not used for this: it aligns S/M/H to the clock, cannot align a week
 * to a weekday (`7d` counts from the current day), names backups `YYYYMMDD-HHMM-NN-session.log`
 * (local time, index included) unless given a generator, and enforces maxFiles through a
 * `session.log.txt` history file sorted by ctime, which can delete the wrong file
 * (https://github.com/iccicci/rotating-file-stream/issues/107) and counts differently from Python
 * (issues/86). winston-daily-rotate-file writes to the dated file itself (`session.log.2026-11-22`),
 * so the active log would not be `session.log`, and adds an `.<hash>-audit.json` file.
 */
export interface TimeRotationRule {
  when: TimeWhen;
  utc: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Python's rollover interval for `when`, in ms (a week for W0–W6). */
export function rolloverIntervalMs(when: TimeWhen): number {
  switch (when) {
    case 'S':
      return SECOND;
    case 'M':
      return MINUTE;
    case 'H':
      return HOUR;
    case 'D':
    case 'midnight':
      return DAY;
    default:
      return 7 * DAY;
  }
}

/** Python works in whole seconds (`int(time.time())`); so do we, so that names never collide. */
export function wholeSeconds(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND;
}

/** The first rollover strictly after `fromMs` (the time a file was opened or last rolled over). */
export function nextRollover(rule: TimeRotationRule, fromMs: number): number {
  const from = wholeSeconds(fromMs);
  if (rule.when === 'S' || rule.when === 'M' || rule.when === 'H' || rule.when === 'D') return from + rolloverIntervalMs(rule.when);
  const parts = calendarParts(from, rule.utc);
  const nextMidnight = makeTime(rule.utc, parts.year, parts.month, parts.day + 1);
  if (rule.when === 'midnight') return nextMidnight;
  const weekday = Number(rule.when.slice(1)); // 0 = Monday, as Python
  const today = (parts.weekday + 6) % 7; // JS: 0 = Sunday
  const daysToWait = (weekday - today + 7) % 7; // 0: the rollover day is today, at its end
  return makeTime(rule.utc, parts.year, parts.month, parts.day + 1 + daysToWait);
}

/** The start of the period that ends at `rolloverAt`: what the backup made then is named after. */
export function periodStart(rule: TimeRotationRule, rolloverAt: number): number {
  if (rule.when === 'S' || rule.when === 'M' || rule.when === 'H' || rule.when === 'D') return rolloverAt - rolloverIntervalMs(rule.when);
  // Calendar days, not 24 h, so that a local-time day with a DST change keeps its own date (as Python's DST adjustment does).
  const parts = calendarParts(rolloverAt, rule.utc);
  return makeTime(rule.utc, parts.year, parts.month, parts.day - (rule.when === 'midnight' ? 1 : 7));
}

/** Python's strftime suffix for a backup whose period starts at `startMs`. */
export function backupSuffix(rule: TimeRotationRule, startMs: number): string {
  const p = calendarParts(startMs, rule.utc);
  const date = `${p.year}-${pad(p.month + 1)}-${pad(p.day)}`;
  switch (rule.when) {
    case 'S':
      return `${date}_${pad(p.hours)}-${pad(p.minutes)}-${pad(p.seconds)}`;
    case 'M':
      return `${date}_${pad(p.hours)}-${pad(p.minutes)}`;
    case 'H':
      return `${date}_${pad(p.hours)}`;
    default:
      return date;
  }
}

/** Matches the backups of `baseName` for `when` (Python's extMatch), with our `.N` collision suffix. */
export function backupPattern(baseName: string, when: TimeWhen): RegExp {
  const suffix =
    when === 'S'
      ? String.raw`\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}`
      : when === 'M'
        ? String.raw`\d{4}-\d{2}-\d{2}_\d{2}-\d{2}`
        : when === 'H'
          ? String.raw`\d{4}-\d{2}-\d{2}_\d{2}`
          : String.raw`\d{4}-\d{2}-\d{2}`;
  return new RegExp(`^${baseName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.${suffix}(?:\\.\\d+)?$`);
}

/**
 * The backups to delete so that at most `backupCount` remain, oldest first. Names sort by time
 * because the suffixes are zero-padded. `backupCount` 0 keeps every backup, as in Python.
 */
export function backupsToDelete(names: readonly string[], baseName: string, when: TimeWhen, backupCount: number): string[] {
  if (backupCount <= 0) return [];
  const pattern = backupPattern(baseName, when);
  const backups = names.filter((name) => pattern.test(name)).sort(compareBackups);
  return backups.slice(0, Math.max(0, backups.length - backupCount));
}

/** `session.log.2026-01-01` < `session.log.2026-01-01.1` < `session.log.2026-01-01.2` < `session.log.2026-01-02`. */
function compareBackups(a: string, b: string): number {
  const [baseA, nA] = splitCollision(a);
  const [baseB, nB] = splitCollision(b);
  return baseA < baseB ? -1 : baseA > baseB ? 1 : nA - nB;
}

function splitCollision(name: string): [string, number] {
  const match = /^(.*\d{4}-\d{2}-\d{2}(?:_[\d-]+)?)\.(\d+)$/.exec(name);
  return match ? [match[1]!, Number(match[2])] : [name, 0];
}

interface CalendarParts {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  weekday: number;
}

function calendarParts(ms: number, utc: boolean): CalendarParts {
  const d = new Date(ms);
  return utc
    ? {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth(),
        day: d.getUTCDate(),
        hours: d.getUTCHours(),
        minutes: d.getUTCMinutes(),
        seconds: d.getUTCSeconds(),
        weekday: d.getUTCDay(),
      }
    : {
        year: d.getFullYear(),
        month: d.getMonth(),
        day: d.getDate(),
        hours: d.getHours(),
        minutes: d.getMinutes(),
        seconds: d.getSeconds(),
        weekday: d.getDay(),
      };
}

/** 00:00 of a calendar day (days may overflow the month: Date normalises them). */
function makeTime(utc: boolean, year: number, month: number, day: number): number {
  return utc ? Date.UTC(year, month, day) : new Date(year, month, day).getTime();
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

import path from 'node:path';
import { constants } from 'node:os';
import type { ProcessExit } from './managed-process.js';

/** At most this many stderr lines in any failure message: enough to triage, never a screenful of noise. */
export const MAX_TAIL_LINES = 20;

/** A stderr line that says something failed, in the words most programs use. */
const FAILURE_WORDS = /error|fatal|fail|cannot|can't|no such|denied|invalid|not found/i;

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/**
 * What a code means when the program does not say: the codes shells use. echolog starts programs without a
 * shell, so these are what a wrapper script (a configured ffmpeg that is a script, say) would have meant.
 */
function shellMeaningOf(code: number): string | undefined {
  if (code === 126) return 'as a shell says: found but not executable';
  if (code === 127) return 'as a shell says: command not found';
  const signal = code > 128 ? SIGNAL_NAMES.get(code - 128) : undefined;
  return signal && `as a shell says 128 + ${code - 128}: killed by ${signal}`;
}

/**
 * "was killed by SIGKILL", "exited with code 255 (interrupted by a signal it caught)", "exited with code 1".
 * `meanings`: what the program's own codes mean, where they mean more than "failed".
 */
export function howExited(exit: ProcessExit, meanings: Readonly<Record<number, string>> = {}): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  const meaning = exit.code === null ? undefined : (meanings[exit.code] ?? shellMeaningOf(exit.code));
  return `exited with code ${exit.code}${meaning ? ` (${meaning})` : ''}`;
}

export interface TailOptions {
  /** Tells a failure line; ffmpeg's own log levels say it better than words do. */
  isFailureLine?: (line: string) => boolean;
  /** At most this many lines (never more than MAX_TAIL_LINES). */
  maxLines?: number;
  /** When no line says it failed: the last lines (a program that dies mid-sentence), or nothing. */
  fallBackToLastLines?: boolean;
}

/** Pure: the stderr lines worth showing: the failure lines, else (by default) the last lines; the newest kept, blank ones never. */
export function failureTail(lines: readonly string[], options: TailOptions = {}): string[] {
  const max = Math.min(options.maxLines ?? MAX_TAIL_LINES, MAX_TAIL_LINES);
  const written = lines.filter((line) => line.trim() !== '');
  const failures = written.filter(options.isFailureLine ?? ((line) => FAILURE_WORDS.test(line)));
  const shown = failures.length > 0 || options.fallBackToLastLines === false ? failures : written;
  return shown.slice(-max);
}

export interface ExitDescription extends TailOptions {
  /** Said right after how it exited: " (gave up after 2 restarts)", " without producing any audio". */
  context?: string;
  /** `line` (default) joins the tail with " | " for a log field or a one-line error; `block` indents one per line. */
  layout?: 'line' | 'block';
  /** What the program's own exit codes mean (see howExited). */
  meanings?: Readonly<Record<number, string>>;
}

/**
 * Every child failure in the same words: the program's name, how it ended (code and its meaning, or the
 * signal), then the filtered tail of its stderr (≤ 20 lines).
 */
export function describeExit(command: string, exit: ProcessExit, stderr: readonly string[] = [], options: ExitDescription = {}): string {
  const head = `${path.basename(command)} ${howExited(exit, options.meanings)}${options.context ?? ''}`;
  const tail = failureTail(stderr, options);
  if (options.layout === 'block') return tail.length > 0 ? `${head}:\n  ${tail.join('\n  ')}` : `${head} (no error output)`;
  return tail.length > 0 ? `${head}: ${tail.join(' | ')}` : head;
}

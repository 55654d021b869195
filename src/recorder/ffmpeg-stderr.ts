import type { TailOptions } from '../process/describe-exit.js';

/**
 * Maps ffmpeg's stderr lines to log levels. echolog runs ffmpeg with `-loglevel level+info`, so
 * ffmpeg tags each line with its own severity after the context of whoever logged it:
 * `[lavfi @ 0x55…] [error] No such filter: 'volumee'`. That tag decides: panic/fatal/error are
 * ERROR, warning is WARNING, and info (banner, stream dumps, `Opening … for writing`) and below
 * are DEBUG, so `info` stays quiet but still shows every problem ffmpeg itself calls one. The line
 * is logged as ffmpeg printed it, tag included: it reads (and greps) the same as ffmpeg's output.
 *
 * Lines without a tag are not ffmpeg's own (alsa-lib prints `ALSA lib …` straight to stderr) or
 * come from an ffmpeg run without the flag: for those the pattern lists below still decide.
 * test/logging-levels.test.ts runs this on real ffmpeg output captured in
 * test/fixtures/ffmpeg-stderr/ (capture.sh there says how it was made).
 */
export type StderrLevel = 'debug' | 'warning' | 'error';

/** `[ctx @ 0x…] ` (up to two: a child context and its parent), then `[level] `. */
const SEVERITY_TAG = /^(?:\[[^\]]* @ 0x[0-9a-fA-F]+\] ){0,2}\[(panic|fatal|error|warning|info|verbose|debug|trace)\] /;

const SEVERITY_LEVEL: Readonly<Record<string, StderrLevel>> = {
  panic: 'error',
  fatal: 'error',
  error: 'error',
  warning: 'warning',
  info: 'debug',
  verbose: 'debug',
  debug: 'debug',
  trace: 'debug',
};

/**
 * Known-benign lines, DEBUG whatever their tag: they describe a healthy input, and at WARNING they
 * would head `sessions show`'s "last warnings and errors" for every session.
 * - `Guessed Channel Layout for Input Stream #0.0 : mono`: a WAV or a device without a channel
 *   mask; ffmpeg takes the usual layout for the channel count, which is what echolog wants.
 * - `Estimating duration from bitrate, this may be inaccurate`: an MP3 without an index; echolog
 *   measures durations from the samples it writes, never from the input's estimate.
 */
const BENIGN_LINES: readonly RegExp[] = [
  /\bGuessed Channel Layout for Input Stream\b/,
  /\bEstimating duration from bitrate, this may be inaccurate/,
];

/** ffmpeg's own severity of a line printed with `-loglevel level+…`; undefined for an untagged line. */
export function ffmpegSeverity(line: string): StderrLevel | undefined {
  const tag = SEVERITY_TAG.exec(line)?.[1];
  return tag === undefined ? undefined : SEVERITY_LEVEL[tag];
}

const ERROR_PATTERNS: readonly RegExp[] = [
  /No space left on device/i,
  // "Error while decoding …", "Error writing trailer …", "Error opening output files", "Error setting option …"
  /\bError (?:while\b|[a-z]+ing\b)/i,
  /\bInvalid (?:argument|data found)/i,
  /No such (?:file|device|process)/i,
  /Permission denied/i,
  /Device or resource busy/i,
  /Input\/output error/i,
  /Connection refused/i,
  /Conversion failed/i,
  /Could not (?:open|write|find)/i,
  /Cannot open/i,
  /Unable to (?:parse|open|find)/i,
  /Undefined constant/i,
  /Unknown (?:input format|encoder|decoder)/i,
  /Unrecognized option|Option not found|cannot be applied to/i,
  /Broken pipe/i,
  /Immediate exit requested/i,
  /\bfailed\b/i,
];

const WARNING_PATTERNS: readonly RegExp[] = [
  /Non-monotonous DTS|non monotonically increasing dts|Non-monotonic/i,
  /Queue input is backward in time/i,
  /\b(?:dropped|dropping|late|overrun|underrun|xrun)\b/i,
  /Thread message queue blocking/i,
  /discarding|Discontinuity/i,
  /^ALSA lib /,
  // A damaged input: the decoder skips data but goes on.
  /\boverread\b|\btoo big\b|Header missing|\bcorrupt/i,
  /\bwarning\b/i,
  /\bdeprecated\b/i,
  /\bInvalid\b/i,
  /\berror\b/i,
];

/**
 * The level for one stderr line: ffmpeg's severity tag if it has one (a known-benign warning is
 * DEBUG), else only ffmpeg's own words count:
 * - indented lines are always DEBUG: ffmpeg indents only its dumps of streams and metadata,
 *   whose free text (a title tag, an encoder name) must not pass for a warning;
 * - text in single quotes is ignored: that is how ffmpeg quotes file names and arguments
 *   (`Opening '/home/me/warning-tests/chunk_00001.wav' for writing` is an ordinary line).
 */
export function classifyStderrLine(line: string): StderrLevel {
  const severity = ffmpegSeverity(line);
  if (severity === 'warning' && BENIGN_LINES.some((benign) => benign.test(line))) return 'debug';
  if (severity) return severity;
  if (/^\s/.test(line)) return 'debug';
  const words = line.replace(/'[^']*'/g, "''");
  if (ERROR_PATTERNS.some((pattern) => pattern.test(words))) return 'error';
  if (WARNING_PATTERNS.some((pattern) => pattern.test(words))) return 'warning';
  return 'debug';
}

/**
 * How ffmpeg's failures are told (describeExit, failureTail): by its error lines only. Warnings are no reason (a
 * `Guessed Channel Layout` line explains nothing about a kill), so a run without error lines shows none and the
 * message says there was no error output.
 */
export const FFMPEG_FAILURE_LINES: TailOptions = {
  isFailureLine: (line) => classifyStderrLine(line) === 'error',
  fallBackToLastLines: false,
};

/** ffmpeg's own exit codes: 255 is a run ended by a signal it caught (it finishes its files first). */
export const FFMPEG_EXIT_MEANINGS: Readonly<Record<number, string>> = { 255: 'stopped by a signal it caught' };

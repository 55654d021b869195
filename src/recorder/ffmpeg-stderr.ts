/**
 * Maps ffmpeg's stderr lines to log levels. Ordinary lines are DEBUG; lines that look like
 * problems are WARNING or ERROR so that `info` stays quiet but still shows them.
 * The pattern lists live here and only here; test/logging-levels.test.ts runs them on real ffmpeg
 * output captured in test/fixtures/ffmpeg-stderr/ (capture.sh there says how it was made).
 */
export type StderrLevel = 'debug' | 'warning' | 'error';

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
  /Guessed Channel Layout/i,
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
 * The level for one stderr line. Only ffmpeg's own words count:
 * - indented lines are always DEBUG: ffmpeg indents only its dumps of streams and metadata,
 *   whose free text (a title tag, an encoder name) must not pass for a warning;
 * - text in single quotes is ignored: that is how ffmpeg quotes file names and arguments
 *   (`Opening '/home/me/warning-tests/chunk_00001.wav' for writing` is an ordinary line).
 */
export function classifyStderrLine(line: string): StderrLevel {
  if (/^\s/.test(line)) return 'debug';
  const words = line.replace(/'[^']*'/g, "''");
  if (ERROR_PATTERNS.some((pattern) => pattern.test(words))) return 'error';
  if (WARNING_PATTERNS.some((pattern) => pattern.test(words))) return 'warning';
  return 'debug';
}

/** Lines worth showing when ffmpeg fails: problems first, else the very last lines. At most `max`. */
export function failureTail(lines: readonly string[], max = 20): string[] {
  const problems = lines.filter((line) => classifyStderrLine(line) !== 'debug');
  return (problems.length > 0 ? problems : lines).slice(-max);
}

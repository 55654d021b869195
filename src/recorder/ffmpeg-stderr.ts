/**
 * Maps ffmpeg's stderr lines to log levels. Ordinary lines are DEBUG; lines that look like
 * problems are WARNING or ERROR so that `info` stays quiet but still shows them.
 * The pattern lists live here and only here; test/ffmpeg-stderr.test.ts runs them on captured output.
 */
export type StderrLevel = 'debug' | 'warning' | 'error';

const ERROR_PATTERNS: readonly RegExp[] = [
  /No space left on device/i,
  /\bError (?:while|opening|writing|initializing|submitting|during)/i,
  /\bInvalid (?:argument|data found)/i,
  /No such (?:file|device)/i,
  /Permission denied/i,
  /Device or resource busy/i,
  /Input\/output error/i,
  /Connection refused/i,
  /Conversion failed/i,
  /Could not (?:open|write|find)/i,
  /Cannot open/i,
  /Unknown input format/i,
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
  /\bwarning\b/i,
  /\bdeprecated\b/i,
  /\bInvalid\b/i,
  /\berror\b/i,
];

export function classifyStderrLine(line: string): StderrLevel {
  if (ERROR_PATTERNS.some((pattern) => pattern.test(line))) return 'error';
  if (WARNING_PATTERNS.some((pattern) => pattern.test(line))) return 'warning';
  return 'debug';
}

/** Lines worth showing when ffmpeg fails: problems first, else the very last lines. At most `max`. */
export function failureTail(lines: readonly string[], max = 20): string[] {
  const problems = lines.filter((line) => classifyStderrLine(line) !== 'debug');
  return (problems.length > 0 ? problems : lines).slice(-max);
}

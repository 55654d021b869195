import { classifyStderrLine } from '../recorder/ffmpeg-stderr.js';
import { isDeviceInput, type CaptureInput } from '../recorder/ffmpeg-args.js';

/**
 * What no retry can fix: ffmpeg could not open the input for a reason that does not change by
 * trying again (an unknown lavfi filter or option, a file that is not audio, a directory, no such
 * file or device, no permission, an unknown format). Read from ffmpeg's own error lines, as
 * captured in test/fixtures/ffmpeg-stderr/. Pure.
 */
const PERMANENT_REASONS: readonly RegExp[] = [
  /No such filter/,
  /Option '[^']*' not found|: Option not found/,
  /Invalid data found when processing input/,
  // ffmpeg's last word on an input it could not open (`junk.wav: Invalid argument`, `sine=frequency=abc: Invalid argument`).
  /: Invalid argument$/,
  /Is a directory/,
  // An input without audio (a text file reads as ANSI art video; -vn leaves nothing to record).
  /Output file #\d+ does not contain any stream/,
  /No such file or directory/,
  /Permission denied/,
  /Unknown input format/,
  /Protocol not found/,
];

/** ffmpeg's error lines that say why the input can never open; empty if none does. */
export function permanentStartErrors(stderrTail: readonly string[]): string[] {
  const errors = stderrTail.filter((line) => classifyStderrLine(line) === 'error');
  return errors.some((line) => PERMANENT_REASONS.some((reason) => reason.test(line))) ? errors : [];
}

/** Where to look next, for the kind of input that failed. */
export function startFailureHint(input: CaptureInput): string {
  if (isDeviceInput(input))
    return `\`echolog devices\` lists the ${input.format} capture devices by name; \`echolog doctor --input-format ${input.format} --input <name>\` checks one`;
  if (input.format === 'lavfi') return 'check the lavfi graph (`ffmpeg -filters` lists the filters); `echolog doctor` checks an input';
  if (input.format) return `\`echolog doctor --input-format ${input.format} --input <name>\` checks an input`;
  return '--input must be an audio file ffmpeg can read (`ffprobe <file>` says what it is), or a capture device (`echolog devices` lists them)';
}

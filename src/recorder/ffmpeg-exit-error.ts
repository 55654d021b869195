import { EchologError } from '../errors.js';
import { describeExit } from '../process/describe-exit.js';
import { FFMPEG_EXIT_MEANINGS } from './ffmpeg-stderr.js';

/** ffmpeg ended on its own with a failure; carries what a user needs to triage it. */
export class FfmpegExitError extends EchologError {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** Its error lines (chosen by the caller, who knows the log level it ran at), quoted in the message. */
    readonly errorLines: readonly string[],
    /** After how many restarts echolog gave up, if it restarted at all. */
    readonly restarts = 0,
    /** It exited 0 without producing any audio. */
    readonly noAudio = false,
    /** Where to look next, for a failure no retry can fix. */
    readonly hint?: string,
  ) {
    const context =
      (noAudio ? ' without producing any audio' : '') +
      (restarts > 0 ? ` (gave up after ${restarts} restart${restarts === 1 ? '' : 's'})` : '');
    super(
      describeExit('ffmpeg', { code, signal }, errorLines, {
        isFailureLine: () => true,
        context,
        layout: 'block',
        meanings: FFMPEG_EXIT_MEANINGS,
      }) + (hint ? `\nhint: ${hint}` : ''),
    );
  }
}

import ora, { type Ora } from 'ora';
import type { Writable } from 'node:stream';
import type { FfmpegLocation } from '../recorder/ffmpeg-locator.js';
import type { LogFields } from '../logging/line-format.js';
import type { RecordingEvent } from '../transcription/session-component.js';
import type { TerminalStyle } from './terminal.js';
import { formatElapsed, formatPartialScreenLine, plural } from './text-format.js';

export interface ProgressOptions {
  /** Progress and results. */
  stdout: Writable & { isTTY?: boolean; columns?: number };
  /** Warnings, so `echolog record > out.txt` still shows them. */
  stderr: Writable & { isTTY?: boolean };
  style: TerminalStyle;
  quiet: boolean;
  /** The ffmpeg in use, said once at the start. */
  ffmpeg: FfmpegLocation;
  /** transcription.engine as configured (`auto` may become a running daemon): said with the engine in use. */
  engine: string;
  now: () => Date;
}

export interface ProgressReporter {
  onEvent(event: RecordingEvent): void;
  stop(): void;
}

/**
 * What the user sees while recording: the `Logging to …` line and the ffmpeg in use, then an
 * ora spinner with elapsed time and chunk count where it can animate (see terminal.ts), or plain
 * lines otherwise. Warnings go to stderr. `--quiet` keeps only the `Logging to` line and warnings.
 */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const { stdout, stderr } = options;
  let spinner: Ora | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = 0;
  let chunks = 0;
  let sessionId = '';
  /** The live engine's hypothesis of the utterance under way, shown under the spinner. */
  let partial = '';
  /** Set once stopping: the spinner says so from then on, and partials are no longer drawn. */
  let stoppingReason: string | undefined;
  /** A line above a running spinner: clear it, write, draw it again (stderr too when it shares the terminal). */
  const lineTo = (stream: Writable & { isTTY?: boolean }, line: string): void => {
    const around = spinner?.isSpinning && (stream === stdout || stream.isTTY);
    if (around) spinner!.clear();
    stream.write(`${line}\n`);
    if (around) spinner!.render();
  };
  const partialLine = (): string => {
    const line = formatPartialScreenLine(partial, stdout.columns ?? 80);
    return options.style.color ? `\x1b[2m${line}\x1b[22m` : line;
  };
  const spinnerText = (): string =>
    stoppingReason !== undefined
      ? `Stopping (${stoppingReason}) …`
      : `Recording ${sessionId} · ${formatElapsed(options.now().getTime() - started)} · ${plural(chunks, 'chunk')}${partial ? `\n${partialLine()}` : ''}`;

  return {
    onEvent(event) {
      switch (event.type) {
        case 'started':
          started = options.now().getTime();
          sessionId = event.sessionId;
          stdout.write(`Logging to ${event.logPath} (level=${event.level})\n`);
          if (options.quiet) return;
          stdout.write(`ffmpeg: ${options.ffmpeg.path} (${options.ffmpeg.source})\n`);
          stdout.write(`${formatEngineLine(options.engine, event.startFields)}\n`);
          if (event.resumedFrom) stdout.write(`resuming ${event.resumedFrom}: recording into a new session that continues it\n`);
          if (options.style.animate) {
            // ora's own colour check ignores NO_COLOR: say it explicitly.
            spinner = ora({
              text: spinnerText(),
              stream: stdout,
              discardStdin: false,
              isEnabled: true,
              color: options.style.color ? 'cyan' : false,
            }).start();
            timer = setInterval(() => spinner && (spinner.text = spinnerText()), 1000);
            timer.unref();
          } else {
            stdout.write(`Recording ${event.sessionId} into ${event.sessionDir}\n`);
          }
          return;
        case 'chunk':
          chunks = event.chunk.seq;
          if (spinner) spinner.text = spinnerText();
          else if (!options.quiet)
            stdout.write(`chunk ${event.chunk.seq} ${event.chunk.file} (${event.chunk.durationSeconds.toFixed(1)} s)\n`);
          return;
        case 'text':
          // The final line replaces the partial it grew from.
          partial = '';
          if (spinner) spinner.text = spinnerText();
          if (!options.quiet) lineTo(stdout, `[${formatElapsed(event.startSeconds * 1000)}] ${event.text}`);
          return;
        case 'partial':
          // Only where a line can be redrawn (a pipe or a file gets final lines alone), and not once
          // stopping: a late one would redraw a spinner that is gone.
          if (!spinner?.isSpinning || stoppingReason !== undefined || partial === event.text) return;
          partial = event.text;
          spinner.text = spinnerText();
          spinner.render();
          return;
        case 'warning':
          lineTo(stderr, `echolog: warning: ${event.message}`);
          return;
        case 'stopping':
          partial = '';
          stoppingReason = event.reason;
          if (spinner) spinner.text = spinnerText();
          else if (!options.quiet) stdout.write(`Stopping (${event.reason}) …\n`);
          return;
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      spinner?.stop();
    },
  };
}

/**
 * `transcription: pocketsphinx (en-us)`, and why when `auto` chose it; a running session daemon
 * taking over `auto` is said with its pid. Pure, from session_start's fields.
 */
export function formatEngineLine(configured: string, fields: LogFields): string {
  const engine = String(fields.transcription_engine ?? configured);
  if (engine === 'none') return 'transcription: off';
  const model = fields.transcription_model ? ` (${String(fields.transcription_model)})` : '';
  const daemon =
    engine === 'daemon' && fields.daemon_pid !== undefined
      ? `, the session daemon pid ${String(fields.daemon_pid)} on ${String(fields.daemon_root)}`
      : '';
  const why =
    configured !== 'auto' ? '' : engine === 'daemon' ? '; chosen automatically: a session daemon is ready' : '; chosen automatically';
  return `transcription: ${engine}${model}${daemon}${why}`;
}

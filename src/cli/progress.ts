import ora, { type Ora } from 'ora';
import type { Writable } from 'node:stream';
import type { RecordingEvent } from '../sessions/session-component.js';

export interface ProgressOptions {
  stream: Writable & { isTTY?: boolean };
  quiet: boolean;
  now: () => Date;
}

export interface ProgressReporter {
  onEvent(event: RecordingEvent): void;
  stop(): void;
}

/**
 * What the user sees while recording: the `Logging to …` line, then an ora spinner with
 * elapsed time and chunk count on a terminal, or plain lines otherwise. `--quiet` keeps only
 * the `Logging to` line and warnings.
 */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const { stream } = options;
  let spinner: Ora | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = 0;
  let chunks = 0;
  let sessionId = '';
  const say = (line: string): void => {
    if (spinner?.isSpinning) {
      spinner.clear();
      stream.write(`${line}\n`);
      spinner.render();
    } else {
      stream.write(`${line}\n`);
    }
  };
  const spinnerText = (): string => `Recording ${sessionId} · ${formatElapsed(options.now().getTime() - started)} · ${chunks} chunk${chunks === 1 ? '' : 's'}`;

  return {
    onEvent(event) {
      switch (event.type) {
        case 'started':
          started = options.now().getTime();
          sessionId = event.sessionId;
          stream.write(`Logging to ${event.logPath} (level=${event.level})\n`);
          if (options.quiet) return;
          if (stream.isTTY) {
            spinner = ora({ text: spinnerText(), stream, discardStdin: false }).start();
            timer = setInterval(() => spinner && (spinner.text = spinnerText()), 1000);
            timer.unref();
          } else {
            stream.write(`Recording ${event.sessionId} into ${event.sessionDir}\n`);
          }
          return;
        case 'chunk':
          chunks = event.chunk.seq;
          if (spinner) spinner.text = spinnerText();
          else if (!options.quiet) stream.write(`chunk ${event.chunk.seq} ${event.chunk.file} (${event.chunk.durationSeconds.toFixed(1)} s)\n`);
          return;
        case 'text':
          if (!options.quiet) say(`[${formatElapsed(event.startSeconds * 1000)}] ${event.text}`);
          return;
        case 'warning':
          say(`warning: ${event.message}`);
          return;
        case 'stopping':
          if (spinner) spinner.text = `Stopping (${event.reason}) …`;
          else if (!options.quiet) stream.write(`Stopping (${event.reason}) …\n`);
          return;
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      spinner?.stop();
    },
  };
}

export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

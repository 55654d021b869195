import type { LogLevel } from '../config/schema.js';
import type { Logger } from '../logging/session-log.js';
import { classifyStderrLine, type StderrLevel } from './ffmpeg-stderr.js';
import { STDERR_CHATTER_LIMITS, StderrFloodGuard, type FloodGuardOutput } from './stderr-flood-guard.js';

/**
 * ffmpeg's stderr into the session log, through flood guards: each line at its level as
 * `ffmpeg_stderr line=…`, runs of one line as `ffmpeg_stderr_repeated count=N line=…`, and what a
 * rate cap held back as `ffmpeg_stderr_dropped count=N`. Problems (WARNING/ERROR, 50/s) and
 * chatter (DEBUG, 200/s) have a cap each, so a burst of chatter cannot crowd out an error; and only lines the
 * log's level lets through count at all. Dropped problems are a WARNING, dropped chatter DEBUG.
 * Call `close()` once ffmpeg has exited (safe twice): it stops the summary timer and writes what is pending.
 */
export class FfmpegStderrLog {
  private readonly problems = new StderrFloodGuard();
  private readonly chatter = new StderrFloodGuard(STDERR_CHATTER_LIMITS);
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly isEnabled: (level: LogLevel) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  line(line: string): void {
    const level = classifyStderrLine(line);
    if (!this.isEnabled(level)) return;
    if (level === 'debug') this.write(this.chatter.push(line, this.now()), 'debug');
    else this.write(this.problems.push(line, this.now()), 'warning');
    if (this.ticker === undefined && (this.problems.pending || this.chatter.pending)) {
      // Summaries come even when ffmpeg falls silent after a flood. The timer runs only while
      // something is held back (no polling while ffmpeg is quiet) and never keeps echolog alive.
      this.ticker = setInterval(() => this.tick(), 1000).unref();
    }
  }

  close(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.each((guard, dropLevel) => this.write(guard.flush(this.now()), dropLevel));
  }

  private tick(): void {
    this.each((guard, dropLevel) => this.write(guard.tick(this.now()), dropLevel));
    if (!this.problems.pending && !this.chatter.pending) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private each(action: (guard: StderrFloodGuard, dropLevel: StderrLevel) => void): void {
    action(this.problems, 'warning');
    action(this.chatter, 'debug');
  }

  private write(outputs: readonly FloodGuardOutput[], dropLevel: StderrLevel): void {
    for (const output of outputs) {
      if (output.kind === 'line') this.logger[classifyStderrLine(output.line)]('ffmpeg_stderr', { line: output.line });
      else if (output.kind === 'repeated')
        this.logger[classifyStderrLine(output.line)]('ffmpeg_stderr_repeated', { count: output.count, line: output.line });
      else this.logger[dropLevel]('ffmpeg_stderr_dropped', { count: output.count });
    }
  }
}

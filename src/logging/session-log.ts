import path from 'node:path';
import type { Writable } from 'node:stream';
import type { LogLevel } from '../config/schema.js';
import { formatLogLine, type LogFields } from './line-format.js';
import { isLevelEnabled, LEVEL_NAME } from './levels.js';
import { LogFile, type QueuedLine } from './log-file.js';
import { planRotation, type RotationConfig } from './rotation-options.js';

export { SESSION_LOG_NAME } from './log-names.js';
import { SESSION_LOG_NAME } from './log-names.js';

/**
 * Lifecycle lines written at every level, even `warning` and `error`: without them the log cannot
 * say which session it is, what ran, or why it ended (R2, R4, R8: session_stop is always last).
 * When the file cannot take them they go to stderr, like warnings and errors.
 */
/** What a failed log keeps in memory for the file, should room be freed: well within the session's ballast. */
const HELD_BYTES = 256 * 1024;

export const ALWAYS_LOGGED: ReadonlySet<string> = new Set(['session_start', 'ffmpeg_command', 'session_stop']);

export interface SessionLogOptions {
  dir: string;
  level: LogLevel;
  rotation: RotationConfig;
  /** Where problems with the log itself are reported; process.stderr in production. */
  stderr: Pick<Writable, 'write'>;
  now?: () => Date;
  /**
   * logging.redact_device: every occurrence of `text` in a message or field value is written as
   * `replacement` — including ffmpeg's own stderr, which echoes the device name.
   */
  redact?: { text: string; replacement: string };
}

/** A named writer into the session log, e.g. `echolog.recorder`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * The session's `session.log`: echolog formats and filters each line, and a LogFile writes it.
 * If the file cannot be opened or written, it says so once on stderr (with the path and errno)
 * and from then on writes WARNING and above, and the lifecycle lines, to stderr, so recording
 * goes on and problems (and how the session ended) stay visible.
 */
export class SessionLog implements AsyncDisposable {
  readonly path: string;
  readonly level: LogLevel;
  private readonly file: LogFile;
  private readonly now: () => Date;
  private closed = false;
  /**
   * Lines that could not go to the file since it failed, kept (up to HELD_BYTES) for the file in
   * case room is freed; past that only counted. Warnings, errors and lifecycle lines also went to stderr.
   */
  private held: string[] = [];
  private heldBytes = 0;
  private droppedWhileFailed = 0;
  /** The text of the lifecycle lines logged so far, so that they can be kept elsewhere too (session.json). */
  private readonly lifecycle = new Map<string, string>();

  private constructor(private readonly options: SessionLogOptions) {
    this.path = path.join(options.dir, SESSION_LOG_NAME);
    this.level = options.level;
    this.now = options.now ?? (() => new Date());
    this.file = new LogFile({
      filePath: this.path,
      plan: planRotation(options.rotation),
      now: () => this.now().getTime(),
      formatLine: (level, message, fields, time) =>
        formatLogLine({ time, level: LEVEL_NAME[level], logger: 'echolog.log', message, fields }),
      onFailure: (error, lost) => this.fail(error, lost),
    });
  }

  /** Creates session.log before anything is recorded, so an early failure is already visible. */
  static open(options: SessionLogOptions): SessionLog {
    return new SessionLog(options);
  }

  logger(name: string): Logger {
    return {
      debug: (message, fields) => this.write('debug', name, message, fields),
      info: (message, fields) => this.write('info', name, message, fields),
      warning: (message, fields) => this.write('warning', name, message, fields),
      error: (message, fields) => this.write('error', name, message, fields),
    };
  }

  isEnabled(level: LogLevel): boolean {
    return isLevelEnabled(this.level, level);
  }

  write(level: LogLevel, logger: string, message: string, fields?: LogFields): void {
    const lifecycle = ALWAYS_LOGGED.has(message);
    if (!this.isEnabled(level) && !lifecycle) return;
    const time = this.now();
    const line = formatLogLine({ time, level: LEVEL_NAME[level], logger, ...this.redacted(message, fields) });
    if (lifecycle) this.lifecycle.set(message, line);
    const mustKeep = lifecycle || isLevelEnabled('warning', level);
    if (this.closed || !this.file.append(line, time.getTime(), mustKeep)) {
      if (!this.closed) this.hold(line);
      if (mustKeep) this.options.stderr.write(`${line}\n`);
    }
  }

  private hold(line: string): void {
    if (this.heldBytes + line.length > HELD_BYTES) {
      this.droppedWhileFailed++;
      return;
    }
    this.held.push(line);
    this.heldBytes += line.length;
  }

  /**
   * The disk had filled and room was freed (the session's ballast): session.log takes lines again,
   * starting with one that says how many it missed. False if the failure was not for want of space.
   */
  resumeAfterSpaceFreed(): boolean {
    if (this.closed || !this.file.reopen()) return false;
    const held = this.held;
    this.write('warning', 'echolog.log', 'log_resumed', {
      reason: 'disk space was freed',
      held_lines: held.length,
      lost_lines: this.droppedWhileFailed,
    });
    // In their order, with their own times: the file tells the whole story again.
    for (const line of held) this.file.append(line, this.now().getTime(), true);
    this.held = [];
    this.heldBytes = 0;
    this.droppedWhileFailed = 0;
    return true;
  }

  /** The last `session_start`/`ffmpeg_command`/`session_stop` line logged, as written. */
  lifecycleLine(message: string): string | undefined {
    return this.lifecycle.get(message);
  }

  private redacted(message: string, fields: LogFields | undefined): { message: string; fields?: LogFields } {
    const redact = this.options.redact;
    if (!redact?.text) return { message, fields };
    const scrub = (text: string): string => text.replaceAll(redact.text, redact.replacement);
    const scrubbed = Object.fromEntries(
      Object.entries(fields ?? {}).map(([key, value]) => [key, typeof value === 'string' ? scrub(value) : value]),
    );
    return { message: scrub(message), fields: scrubbed };
  }

  /** Writes every line to the file and closes it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Once: the path and errno, then the warnings, errors and lifecycle lines that did not reach the file. */
  private fail(error: NodeJS.ErrnoException, lost: readonly QueuedLine[]): void {
    // Some errors leave the errno code out of the message ("no space left on device, write").
    const reason = error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
    this.options.stderr.write(
      `echolog: cannot write session log ${this.path}: ${reason}; recording continues, warnings and errors go to stderr\n`,
    );
    for (const entry of lost) {
      this.hold(entry.line);
      if (entry.mustKeep) this.options.stderr.write(`${entry.line}\n`);
    }
  }
}

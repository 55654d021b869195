import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createStream } from 'rotating-file-stream';
import type { LogLevel } from '../config/schema.js';
import { formatLogLine, type LogFields } from './line-format.js';
import { isLevelEnabled, LEVEL_NAME, LEVEL_PRIORITY } from './levels.js';
import { planRotation, type RotationConfig } from './rotation-options.js';
import { TimedRotatingStream } from './timed-rotating-stream.js';

export { SESSION_LOG_NAME } from './log-names.js';
import { SESSION_LOG_NAME } from './log-names.js';

/**
 * Lifecycle lines written at every level, even `warning` and `error`: without them the log cannot
 * say which session it is, what ran, or why it ended (R2, R4, R8: session_stop is always last).
 */
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

/** A WARNING or ERROR line handed to the file and not yet confirmed written. */
interface PendingLine {
  line: string;
}

/** What winston hands to the sink: our formatted line, and the pending entry to settle. */
interface SinkInfo {
  message: string;
  pending?: PendingLine;
}

/** A named writer into the session log, e.g. `echolog.recorder`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * The session's `session.log`, through winston into a rotating stream.
 * If the file cannot be opened or written, it says so once on stderr (with the path) and from
 * then on writes WARNING and above to stderr, so recording goes on and problems stay visible.
 */
export class SessionLog implements AsyncDisposable {
  readonly path: string;
  readonly level: LogLevel;
  private readonly stream: Writable;
  private readonly winston: winston.Logger;
  private readonly now: () => Date;
  private failed = false;
  private closed = false;
  /** Replayed on stderr if the file fails: a line queued when the disk filled up is not lost. */
  private readonly unconfirmed = new Set<PendingLine>();

  private constructor(private readonly options: SessionLogOptions) {
    this.path = path.join(options.dir, SESSION_LOG_NAME);
    this.level = options.level;
    this.now = options.now ?? (() => new Date());
    this.stream = openStream(options.dir, options.rotation, this.path, this.now);
    this.stream.on('error', (error) => this.fail(error));
    // winston's Stream transport hands an object-mode stream the whole info object; this sink writes
    // one line per write() into the file stream, with a callback that says whether it got there.
    const sink = new Writable({
      objectMode: true,
      write: (info: SinkInfo, _encoding, done) => {
        this.stream.write(`${info.message}\n`, (error) => this.settle(info.pending, error));
        done();
      },
    });
    this.winston = winston.createLogger({
      levels: LEVEL_PRIORITY,
      level: options.level,
      transports: [new winston.transports.Stream({ stream: sink })],
      exitOnError: false,
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
    if (!this.isEnabled(level) && !ALWAYS_LOGGED.has(message)) return;
    const line = formatLogLine({ time: this.now(), level: LEVEL_NAME[level], logger, ...this.redacted(message, fields) });
    if (this.failed || this.closed) {
      if (isLevelEnabled('warning', level)) this.options.stderr.write(`${line}\n`);
      return;
    }
    const pending = isLevelEnabled('warning', level) ? { line } : undefined;
    if (pending) this.unconfirmed.add(pending);
    // winston filters by level too; lifecycle lines pass at any level, so hand them over at the threshold.
    this.winston.log({ level: this.isEnabled(level) ? level : this.level, message: line, pending });
  }

  /** A line reached the file, or not: a WARNING+ line that did not goes to stderr once the failure is known. */
  private settle(pending: PendingLine | undefined, error: Error | null | undefined): void {
    if (!pending) return;
    if (!error) this.unconfirmed.delete(pending);
    else if (this.failed && this.unconfirmed.delete(pending)) this.options.stderr.write(`${pending.line}\n`);
  }

  private redacted(message: string, fields: LogFields | undefined): { message: string; fields?: LogFields } {
    const redact = this.options.redact;
    if (!redact?.text) return { message, fields };
    const scrub = (text: string): string => text.replaceAll(redact.text, redact.replacement);
    const scrubbed = Object.fromEntries(Object.entries(fields ?? {}).map(([key, value]) => [key, typeof value === 'string' ? scrub(value) : value]));
    return { message: scrub(message), fields: scrubbed };
  }

  /** Flushes every line to disk and closes the file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const loggerDone = once(this.winston, 'finish');
    this.winston.end();
    await loggerDone;
    if (!this.stream.writableFinished && !this.failed) {
      const streamDone = once(this.stream, 'finish');
      this.stream.end();
      await streamDone.catch(() => undefined);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    // Some stream errors leave the errno code out of the message ("no space left on device, write").
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
    this.options.stderr.write(`echolog: cannot write session log ${this.path}: ${reason}; recording continues, warnings and errors go to stderr\n`);
    for (const pending of this.unconfirmed) this.options.stderr.write(`${pending.line}\n`);
    this.unconfirmed.clear();
  }
}

function openStream(dir: string, rotation: RotationConfig, filePath: string, now: () => Date): Writable {
  const plan = planRotation(rotation, dir);
  switch (plan.kind) {
    case 'plain':
      return fs.createWriteStream(filePath, { flags: 'a', mode: 0o600 });
    case 'size':
      return createStream(SESSION_LOG_NAME, { ...plan.options, mode: 0o600 });
    case 'time':
      return new TimedRotatingStream({ filePath, rule: plan.rule, backupCount: plan.backupCount, mode: 0o600, now });
  }
}

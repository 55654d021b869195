import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { createStream } from 'rotating-file-stream';
import type { LogLevel } from '../config/schema.js';
import { formatLogLine, type LogFields } from './line-format.js';
import { isLevelEnabled, LEVEL_NAME, LEVEL_PRIORITY } from './levels.js';
import { rotatingStreamOptions, type RotationConfig } from './rotation-options.js';

export const SESSION_LOG_NAME = 'session.log';

export interface SessionLogOptions {
  dir: string;
  level: LogLevel;
  rotation: RotationConfig;
  /** Where problems with the log itself are reported; process.stderr in production. */
  stderr: Pick<Writable, 'write'>;
  now?: () => Date;
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

  private constructor(private readonly options: SessionLogOptions) {
    this.path = path.join(options.dir, SESSION_LOG_NAME);
    this.level = options.level;
    this.now = options.now ?? (() => new Date());
    this.stream = openStream(options.dir, options.rotation, this.path);
    this.stream.on('error', (error) => this.fail(error));
    this.winston = winston.createLogger({
      levels: LEVEL_PRIORITY,
      level: options.level,
      format: winston.format.printf((info) => String(info.message)),
      transports: [new winston.transports.Stream({ stream: this.stream })],
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
    if (!this.isEnabled(level)) return;
    const line = formatLogLine({ time: this.now(), level: LEVEL_NAME[level], logger, message, fields });
    if (this.failed || this.closed) {
      if (isLevelEnabled('warning', level)) this.options.stderr.write(`${line}\n`);
      return;
    }
    this.winston.log(level, line); // the Stream transport appends the line ending
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
    this.options.stderr.write(
      `echolog: cannot write session log ${this.path}: ${error.message}; recording continues, warnings and errors go to stderr\n`,
    );
  }
}

function openStream(dir: string, rotation: RotationConfig, filePath: string): Writable {
  const options = rotatingStreamOptions(rotation, dir);
  if (!options) return fs.createWriteStream(filePath, { flags: 'a', mode: 0o600 });
  return createStream(SESSION_LOG_NAME, { ...options, mode: 0o600 });
}

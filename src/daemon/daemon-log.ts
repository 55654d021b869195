import fs from 'node:fs';
import { currentUid } from '../files/file-trust.js';
import { IpcRootError } from '../ipc/ipc-root.js';
import { formatLogLine, parseLogLine, type LevelName, type LogFields } from '../logging/line-format.js';

/**
 * session_daemon.log: one key=value line per event, as session.log. Opened without following a
 * symlink and refused unless it is the user's own regular file: in a shared root such as /tmp
 * another account could have planted the name to make the daemon append to a file of theirs
 * (or of ours, through a link). Appends are synchronous: lines are few, and the last line before
 * a crash is the one that matters.
 */
export class DaemonLog {
  private constructor(private descriptor: number | undefined) {}

  static open(file: string): DaemonLog {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new IpcRootError(
        `${file} cannot be used: ${code === 'ELOOP' ? 'it is a symlink' : (error as Error).message}; remove it or choose another IPC root`,
      );
    }
    const stat = fs.fstatSync(fd);
    const uid = currentUid();
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid)) {
      fs.closeSync(fd);
      throw new IpcRootError(
        `${file} cannot be used: it is not a file of yours (owner uid ${stat.uid}); remove it or choose another IPC root`,
      );
    }
    return new DaemonLog(fd);
  }

  /** For a child's stdout and stderr (a crash's stack ends up in the log). */
  get fd(): number | undefined {
    return this.descriptor;
  }

  write(level: LevelName, message: string, fields: LogFields = {}): void {
    if (this.descriptor === undefined) return;
    try {
      fs.writeSync(this.descriptor, `${formatLogLine({ time: new Date(), level, logger: 'echolog.daemon', message, fields })}\n`);
    } catch {
      // A full disk must not stop the daemon answering; the responses still carry every error.
    }
  }

  close(): void {
    if (this.descriptor !== undefined) fs.closeSync(this.descriptor);
    this.descriptor = undefined;
  }
}

/** Why the daemon with `pid` failed to start: its `daemon_failed` line in the log, if any. Pure. */
export function startFailureOf(logText: string, pid: number): string | undefined {
  const failed = logText
    .split('\n')
    .map((line) => parseLogLine(line))
    .filter((line) => line?.message === 'daemon_failed' && line.fields.pid === String(pid));
  return failed.at(-1)?.fields.reason;
}

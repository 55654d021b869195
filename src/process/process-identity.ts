import fs from 'node:fs';
import path from 'node:path';

/**
 * Pids are reused: a pid read from disk (a lock, session.json) may now belong to any process.
 * A process is identified by its pid *and* its start time, `/proc/<pid>/stat` field 22 (clock
 * ticks after boot), recorded when it was spawned; a reused pid has a later start time.
 * Without /proc (macOS) nothing can be proven: callers fall back to the pid alone, cautiously.
 */

/** Field 22 of a `/proc/<pid>/stat` line. comm (field 2) is in parentheses and may itself hold
 * spaces and `)`, so the fields are counted after the *last* `)`. */
export function parseStartTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After comm: field 3 (state) is the first; field 22 is the 20th.
  const value = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/)[19];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Field 3 of a `/proc/<pid>/stat` line: the state letter (`Z`: a zombie, exited but not reaped). */
export function parseState(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  return close < 0 ? undefined : stat.slice(close + 1).trim()[0];
}

/**
 * True if a process with this pid runs. A zombie does not: an exited daemon whose parent (a
 * container's init that does not reap) has not collected it still answers kill(pid, 0).
 */
export function isRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return parseState(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) !== 'Z';
  } catch {
    // No /proc (macOS): kill(0) decides.
    return procAvailable() ? false : true;
  }
}

/** `/proc/<pid>/cmdline`: NUL-separated arguments, with a trailing NUL. */
export function parseCmdline(raw: string): string[] {
  return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
}

/** True if a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function procAvailable(): boolean {
  return fs.existsSync('/proc/self/stat');
}

/** The process's start time, or undefined when it does not exist (or there is no /proc). */
export function readStartTicks(pid: number): number | undefined {
  try {
    return parseStartTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readCmdline(pid: number): string[] | undefined {
  try {
    return parseCmdline(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * True if the process that had `pid` and started at `startTicks` is still running. Without a
 * recorded start time (a file from an older echolog) or without /proc, the pid alone decides.
 */
export function isSameProcessAlive(pid: number, startTicks: number | null | undefined): boolean {
  if (!isValidPid(pid) || !isProcessAlive(pid)) return false;
  if (startTicks === null || startTicks === undefined || !procAvailable()) return true;
  return readStartTicks(pid) === startTicks;
}

/**
 * True if a command line runs echolog: its program, or the script its program runs (the first
 * argument that is not an option: `node --enable-source-maps …/bin/echolog record`), is named
 * echolog. Pure.
 */
export function runsEcholog(cmdline: readonly string[] | undefined): boolean {
  if (!cmdline) return false;
  const script = cmdline.slice(1).find((arg) => !arg.startsWith('-'));
  return [cmdline[0], script].some((arg) => arg !== undefined && path.basename(arg) === 'echolog');
}

/**
 * True while the echolog that wrote (pid, start time) to a lock, guard or session.json runs: the
 * pid is alive, has that start time, and its command line runs echolog (a pid reused by `sleep`
 * is no holder). This process is always itself; without /proc the pid alone decides, cautiously.
 */
export function isEchologAlive(pid: number, startTicks: number | null | undefined): boolean {
  if (!isSameProcessAlive(pid, startTicks)) return false;
  if (pid === process.pid || !procAvailable()) return true;
  return runsEcholog(readCmdline(pid));
}

/** A pid from disk is an integer above 1: kill(0 or -1) signals whole groups, and 1 is init. */
export function isValidPid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1;
}

/** What is known about the process now holding a pid. */
export interface ObservedProcess {
  /** undefined: no such process, or no /proc to read it from. */
  startTicks: number | undefined;
  cmdline: string[] | undefined;
  procAvailable: boolean;
}

export type IdentityVerdict =
  | { kind: 'proven' }
  /** Cannot be proven (no /proc, or no start time was recorded): signal gently, never SIGKILL. */
  | { kind: 'unproven'; why: string }
  | { kind: 'other'; why: string };

/**
 * Is the process now holding the pid the one recorded at spawn? Same start time, and its
 * command line contains `marker` (for ffmpeg: the session's chunk pattern, so it is ffmpeg
 * writing into that session's folder). Pure.
 */
export function judgeIdentity(recordedStartTicks: number | null | undefined, marker: string, now: ObservedProcess): IdentityVerdict {
  if (!now.procAvailable) return { kind: 'unproven', why: 'no /proc to check the process start time' };
  if (now.startTicks === undefined) return { kind: 'other', why: 'no such process' };
  if (recordedStartTicks !== null && recordedStartTicks !== undefined && now.startTicks !== recordedStartTicks) {
    return { kind: 'other', why: `its start time ${now.startTicks} is not the recorded ${recordedStartTicks}: the pid was reused` };
  }
  if (!now.cmdline?.includes(marker)) return { kind: 'other', why: `its command line does not write to ${marker}` };
  // A session.json from an older echolog has no start time: the command line alone is a weaker proof.
  if (recordedStartTicks === null || recordedStartTicks === undefined)
    return { kind: 'unproven', why: 'no start time was recorded for it' };
  return { kind: 'proven' };
}

export function observeProcess(pid: number): ObservedProcess {
  return { startTicks: readStartTicks(pid), cmdline: readCmdline(pid), procAvailable: procAvailable() };
}

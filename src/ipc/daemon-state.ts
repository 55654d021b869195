import { readOwnFile } from '../files/own-file.js';
import { isRunning, procAvailable, readCmdline, runsEcholog } from '../process/process-identity.js';
import type { IpcPaths } from './ipc-paths.js';
import {
  isMarker,
  judgeLiveness,
  parseMarker,
  parseStatus,
  type DaemonStatus,
  type Liveness,
  type MarkerProcess,
  type MarkerRead,
  type Untrusted,
} from './protocol.js';

/**
 * A file of the IPC root, parsed by `parse`: 'invalid' when it is there but not what it should be,
 * Untrusted when it is not the user's own regular file (judged on the open descriptor).
 */
async function readParsed<T>(file: string, parse: (value: unknown) => T | undefined): Promise<T | 'invalid' | Untrusted | undefined> {
  let read;
  try {
    read = await readOwnFile(file);
  } catch {
    return 'invalid';
  }
  if (read === undefined || 'untrusted' in read) return read;
  try {
    return parse(JSON.parse(read.text)) ?? 'invalid';
  } catch {
    return 'invalid';
  }
}

export async function readMarker(paths: IpcPaths): Promise<MarkerRead> {
  return readParsed(paths.marker, parseMarker);
}

export async function readStatus(paths: IpcPaths): Promise<DaemonStatus | Untrusted | undefined> {
  // A status caught mid-write by a non-atomic daemon reads as "no status yet": the next read decides.
  const status = await readParsed(paths.status, parseStatus);
  return status === 'invalid' ? undefined : status;
}

/** A session daemon's command line: echolog's (`echolog daemon start --foreground …`) or the seed's own `session_daemon`. Pure. */
export function looksLikeSessionDaemon(cmdline: readonly string[] | undefined): boolean {
  if (!cmdline) return false;
  const echologDaemon = runsEcholog(cmdline) && cmdline.includes('daemon') && cmdline.includes('--foreground');
  return echologDaemon || cmdline.some((a) => /session_daemon/.test(a));
}

/** What runs under `pid` now: a session daemon, nothing (or a zombie), or another process. Without /proc, a running pid is taken as the daemon. */
function observeMarkerProcess(pid: number): MarkerProcess {
  if (!isRunning(pid)) return { kind: 'not_running' };
  if (!procAvailable()) return { kind: 'daemon' };
  const cmdline = readCmdline(pid);
  return looksLikeSessionDaemon(cmdline) ? { kind: 'daemon' } : { kind: 'other', cmdline: cmdline?.join(' ') ?? '?' };
}

/**
 * Is a daemon serving this root now? (seed 001's readiness check, on the seed-004 files) The one
 * check `daemon status`, `daemon start`, `status` and `record --engine auto|daemon` all make.
 */
export async function readLiveness(paths: IpcPaths, nowMs = Date.now()): Promise<Liveness> {
  const marker = await readMarker(paths);
  const status = marker === undefined ? undefined : await readStatus(paths);
  const process: MarkerProcess = isMarker(marker) ? observeMarkerProcess(marker.pid) : { kind: 'not_running' };
  return judgeLiveness({ marker, status, process, nowMs });
}

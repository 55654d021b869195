import { readJson } from '../files/durable-write.js';
import { isRunning } from '../files/process-identity.js';
import type { IpcPaths } from './ipc-paths.js';
import { judgeLiveness, parseMarker, parseStatus, type DaemonMarker, type DaemonStatus, type Liveness } from './protocol.js';

/** A file of the IPC root, parsed by `parse`; 'invalid' when it is there but not what it should be. */
async function readParsed<T>(file: string, parse: (value: unknown) => T | undefined): Promise<T | 'invalid' | undefined> {
  try {
    const value = await readJson<unknown>(file);
    if (value === undefined) return undefined;
    return parse(value) ?? 'invalid';
  } catch {
    return 'invalid';
  }
}

export async function readMarker(paths: IpcPaths): Promise<DaemonMarker | 'invalid' | undefined> {
  return readParsed(paths.marker, parseMarker);
}

export async function readStatus(paths: IpcPaths): Promise<DaemonStatus | undefined> {
  // A status caught mid-write by a non-atomic daemon reads as "no status yet": the next read decides.
  const status = await readParsed(paths.status, parseStatus);
  return status === 'invalid' ? undefined : status;
}

/** Is a daemon serving this root now? (seed 001's readiness check, on the seed-004 files) */
export async function readLiveness(paths: IpcPaths, nowMs = Date.now()): Promise<Liveness> {
  const marker = await readMarker(paths);
  const status = marker === undefined ? undefined : await readStatus(paths);
  const pidAlive = marker !== undefined && marker !== 'invalid' && isRunning(marker.pid);
  return judgeLiveness({ marker, status, pidAlive, nowMs });
}

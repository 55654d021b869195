import path from 'node:path';
import { isValidPid } from '../process/process-identity.js';

/**
 * The seed-004 IPC contract as data: requests, responses, the status file and the marker, with
 * the seed's field names. Everything read from the IPC root is untrusted (another client, a
 * half-written file, another daemon's leftovers), so each reader validates and says what is
 * wrong. Times are Unix seconds as the seed has them (`1756080307.017`). Pure.
 */

export interface DaemonRequest {
  id: string;
  audio_file: string;
  timestamp: number;
}

export interface DaemonResponse {
  id: string;
  results: string[];
  timestamp: number;
  device: string;
  session_active: boolean;
  error?: string;
}

export interface DaemonStatus {
  active: boolean;
  model_loaded: boolean;
  device: string;
  model_size: string;
  processing: boolean;
  last_activity: number;
  session_timeout: number;
  timestamp: number;
  pid: number;
}

export interface DaemonMarker {
  started: number;
  pid: number;
}

/** Unix seconds with millisecond precision, as the seed writes them. */
export function unixSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * An id is used as a file name (`{id}.json`) in the responses dir, so it may hold only
 * characters that cannot leave that dir or hide a file: the seed's ids are digits.
 */
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export function isSafeId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID.test(id) && !id.includes('..');
}

/** A request file's name is `{id}.json`; temp files of atomic writers (`x.json.123.tmp`) are not requests. */
export function requestIdOfFile(name: string): string | undefined {
  if (!name.endsWith('.json')) return undefined;
  const id = name.slice(0, -'.json'.length);
  return isSafeId(id) ? id : undefined;
}

export type ParsedRequest = { ok: true; request: DaemonRequest } | { ok: false; error: string };

/** Validates a request's JSON text; the error names the bad value and what is allowed. */
export function parseRequest(text: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `malformed request: not JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'malformed request: expected a JSON object {id, audio_file, timestamp}' };
  const { id, audio_file: audioFile, timestamp } = value as Record<string, unknown>;
  if (!isSafeId(id))
    return {
      ok: false,
      error: `malformed request: id ${JSON.stringify(id)} must be a string of letters, digits, '.', '_' or '-' (at most 128)`,
    };
  if (typeof audioFile !== 'string' || !path.isAbsolute(audioFile))
    return { ok: false, error: `malformed request: audio_file ${JSON.stringify(audioFile)} must be an absolute path` };
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp))
    return { ok: false, error: `malformed request: timestamp ${JSON.stringify(timestamp)} must be a number (Unix seconds)` };
  return { ok: true, request: { id, audio_file: audioFile, timestamp } };
}

export function buildResponse(
  id: string,
  results: string[],
  nowMs: number,
  device: string,
  sessionActive: boolean,
  error?: string,
): DaemonResponse {
  return { id, results, timestamp: unixSeconds(nowMs), device, session_active: sessionActive, ...(error === undefined ? {} : { error }) };
}

/** A response as a client reads it; undefined if it is not one (yet). */
export function parseResponse(value: unknown): DaemonResponse | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || !Array.isArray(r.results) || !r.results.every((x) => typeof x === 'string')) return undefined;
  return {
    id: r.id,
    results: r.results as string[],
    timestamp: typeof r.timestamp === 'number' ? r.timestamp : 0,
    device: typeof r.device === 'string' ? r.device : '',
    session_active: r.session_active === true,
    ...(typeof r.error === 'string' ? { error: r.error } : {}),
  };
}

export function parseMarker(value: unknown): DaemonMarker | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { started, pid } = value as Record<string, unknown>;
  return typeof started === 'number' && Number.isFinite(started) && isValidPid(pid) ? { started, pid } : undefined;
}

export function parseStatus(value: unknown): DaemonStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (typeof s.active !== 'boolean' || typeof s.model_loaded !== 'boolean' || !num(s.timestamp) || !isValidPid(s.pid)) return undefined;
  return {
    active: s.active,
    model_loaded: s.model_loaded,
    device: typeof s.device === 'string' ? s.device : '',
    model_size: typeof s.model_size === 'string' ? s.model_size : '',
    processing: s.processing === true,
    last_activity: num(s.last_activity) ? s.last_activity : 0,
    session_timeout: num(s.session_timeout) ? s.session_timeout : 0,
    timestamp: s.timestamp,
    pid: s.pid,
  };
}

/** The daemon rewrites its status at least this often; a status older than 3 of these is stale. */
export const STATUS_HEARTBEAT_MS = 5000;
export const STATUS_FRESH_MS = 3 * STATUS_HEARTBEAT_MS;

/** A marker or status file that is not the user's own regular file: another account's, or planted. */
export interface Untrusted {
  untrusted: string;
}

export function isUntrusted(value: unknown): value is Untrusted {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Untrusted>).untrusted === 'string';
}

/** A marker read from the root: the marker, garbage, another account's file, or none. */
export type MarkerRead = DaemonMarker | 'invalid' | Untrusted | undefined;

export function isMarker(value: MarkerRead): value is DaemonMarker {
  return value !== undefined && value !== 'invalid' && !isUntrusted(value);
}

/** What the process the marker names is now: a session daemon, no process, or some other process (the pid was reused). */
export type MarkerProcess = { kind: 'daemon' } | { kind: 'not_running' } | { kind: 'other'; cmdline: string };

export type Liveness =
  | { state: 'ready'; marker: DaemonMarker; status: DaemonStatus }
  | { state: 'absent' }
  /**
   * Not usable now, with why (loading, stale marker, no status, status too old, …). `foreign`: the
   * marker or status is not the user's own file, so it can be neither believed nor replaced.
   */
  | { state: 'not_ready'; why: string; marker?: DaemonMarker; status?: DaemonStatus; stale: boolean; foreign?: true };

/**
 * Seed 001's readiness handshake applied to the seed-004 files: the marker and the status are the
 * user's own files, the marker's pid is a running session daemon (its command line; the seed's
 * marker has no start time), the status is the same daemon's, fresh, and says the model is loaded.
 * `stale`: the marker's daemon is gone (it did not shut down cleanly), so the marker may be replaced.
 */
export function judgeLiveness(input: {
  marker: MarkerRead;
  status: DaemonStatus | Untrusted | undefined;
  process: MarkerProcess;
  nowMs: number;
}): Liveness {
  const { marker, status } = input;
  if (marker === undefined) return { state: 'absent' };
  if (isUntrusted(marker))
    return { state: 'not_ready', why: `the marker ${marker.untrusted}; it is not believed`, stale: false, foreign: true };
  if (marker === 'invalid') return { state: 'not_ready', why: 'the marker session_daemon_active is not {started, pid}', stale: true };
  const trusted = isUntrusted(status) ? undefined : status;
  if (input.process.kind === 'not_running')
    return {
      state: 'not_ready',
      why: `the marker names pid ${marker.pid}, which is not running (a stale marker)`,
      marker,
      status: trusted,
      stale: true,
    };
  if (input.process.kind === 'other') {
    return {
      state: 'not_ready',
      why: `the marker names pid ${marker.pid}, which is not a session daemon (its command line is ${JSON.stringify(input.process.cmdline)}): a stale marker`,
      marker,
      status: trusted,
      stale: true,
    };
  }
  if (isUntrusted(status))
    return { state: 'not_ready', why: `the status ${status.untrusted}; it is not believed`, marker, stale: false, foreign: true };
  if (!status) return { state: 'not_ready', why: 'no readable session_daemon_status.json yet', marker, stale: false };
  if (status.pid !== marker.pid)
    return {
      state: 'not_ready',
      why: `the status is from pid ${status.pid}, the marker from pid ${marker.pid}`,
      marker,
      status,
      stale: false,
    };
  const ageMs = input.nowMs - status.timestamp * 1000;
  if (ageMs > STATUS_FRESH_MS)
    return {
      state: 'not_ready',
      why: `its status is ${Math.round(ageMs / 1000)} s old (it is rewritten every ${STATUS_HEARTBEAT_MS / 1000} s): the daemon is not responding`,
      marker,
      status,
      stale: false,
    };
  if (!status.active) return { state: 'not_ready', why: 'the daemon is shutting down', marker, status, stale: false };
  if (!status.model_loaded) return { state: 'not_ready', why: 'the daemon is still loading its model', marker, status, stale: false };
  return { state: 'ready', marker, status };
}

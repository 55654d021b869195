import type { RunEnd } from './run-end.js';

/**
 * What the supervisor does after an ffmpeg run ends, as systemd's `Restart=on-failure` with a
 * start limit: what no retry can fix (see run-end.ts) ends the session at once; a crash is restarted
 * with backoff up to `maxRestarts` times in a row (a run that finished a chunk resets the count); a lost device is retried, however often, until it has been
 * gone for `reconnectTimeoutMs`. Pure.
 */
export interface RestartPolicy {
  maxRestarts: number;
  reconnectTimeoutMs: number;
}

export interface SupervisionState {
  /** Restarts since the last run that finished a chunk. */
  attempts: number;
  /** Restarts in the whole session (for status and the log). */
  restarts: number;
  /** When the live input was found gone; undefined while it works. */
  deviceLostAtMs: number | undefined;
  /** Some run finished a chunk: a device that fails now was there before, so it is lost, not wrong. */
  hadAudio: boolean;
}

export const INITIAL_SUPERVISION: SupervisionState = { attempts: 0, restarts: 0, deviceLostAtMs: undefined, hadAudio: false };

export type SupervisionDecision =
  | { action: 'finish' }
  | { action: 'restart'; delayMs: number; state: SupervisionState }
  | { action: 'give_up'; reason: 'ffmpeg_exit' | 'device_lost' | 'input_damaged'; state: SupervisionState };

const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 5000;
/** A device that comes back is noticed within this long. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** 200 ms, then doubling, at most 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1));
}

export function decideAfterRun(
  state: SupervisionState,
  end: RunEnd,
  runChunks: number,
  nowMs: number,
  policy: RestartPolicy,
): SupervisionDecision {
  if (end === 'stopped' || end === 'duration_reached' || end === 'end_of_input') return { action: 'finish' };
  // No retry fixes these: a restart would fail the same way, or read a damaged file again from its start.
  if (end === 'unrecoverable') return { action: 'give_up', reason: 'ffmpeg_exit', state };
  if (end === 'input_damaged') return { action: 'give_up', reason: 'input_damaged', state };
  const progressed = runChunks > 0;
  const hadAudio = state.hadAudio || progressed;
  const attempts = progressed ? 1 : state.attempts + 1;
  // A lost device stays lost through the runs that fail to open it again. One that never gave
  // audio is no lost device (a wrong name, no permission): its failures count as crashes.
  const lost = end === 'device_lost' && hadAudio;
  const deviceLostAtMs = !lost ? undefined : progressed ? nowMs : (state.deviceLostAtMs ?? nowMs);
  const next: SupervisionState = { attempts, restarts: state.restarts + 1, deviceLostAtMs, hadAudio };
  if (deviceLostAtMs !== undefined) {
    const left = deviceLostAtMs + policy.reconnectTimeoutMs - nowMs;
    if (left <= 0) return { action: 'give_up', reason: 'device_lost', state: { ...next, restarts: state.restarts } };
    return { action: 'restart', delayMs: Math.min(backoffMs(attempts), MAX_RECONNECT_DELAY_MS, left), state: next };
  }
  if (attempts > policy.maxRestarts) return { action: 'give_up', reason: 'ffmpeg_exit', state: { ...next, restarts: state.restarts } };
  return { action: 'restart', delayMs: backoffMs(attempts), state: next };
}

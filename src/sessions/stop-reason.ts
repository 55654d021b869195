import { ExitCode } from '../errors.js';
import type { CaptureOutcome } from '../capture/capture-supervisor.js';

/**
 * Why a session ended, as written in `session_stop reason=…`, and the exit code it maps to.
 * `end_of_input`: a file input was recorded to its end (ffmpeg exited 0 with no --duration).
 * `disk_full`: the session's file system ran out of space (or inodes, or quota).
 * `disk_low`: the free space reached `recording.min_free_mb`, and the session stopped before the disk filled.
 * `device_lost`: a capture device went away and did not come back within `recording.reconnect_timeout`.
 * `input_damaged`: the input ended early (before its length or `--duration`) with errors on ffmpeg's stderr.
 */
export const STOP_REASONS = ['duration_reached', 'end_of_input', 'user_interrupt', 'terminated', 'ffmpeg_exit', 'device_lost', 'input_damaged', 'disk_low', 'disk_full', 'error', 'interrupted'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** A stop that echolog was asked for, by a signal or a caller. */
export interface StopRequest {
  reason: 'user_interrupt' | 'terminated' | 'disk_full' | 'disk_low' | 'error';
  signal?: NodeJS.Signals;
  /** For `error`, `disk_full` and `disk_low`: what went wrong (an uncaught exception in echolog, a failed write). */
  message?: string;
}

/**
 * All the time a signalled stop (Ctrl-C, SIGTERM, SIGHUP) has, from the signal to `session_stop`:
 * ffmpeg's stop ladder takes at most STOP_DEADLINE_MS of it, the transcription drain what is left.
 * Someone (a terminal, systemd) is waiting; what is not transcribed by then is named in
 * session_stop and left for `echolog transcribe`.
 */
export const SIGNALLED_STOP_BUDGET_MS = 4000;

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Pure: how a session ended, from the stop request (if any) and how capture ended. */
export function decideStopReason(request: StopRequest | undefined, outcome: CaptureOutcome['kind']): StopReason {
  if (request) return request.reason;
  // Stopped without a request, or its folder gone: an error (the session says which).
  return outcome === 'stopped' || outcome === 'session_dir_gone' ? 'error' : outcome;
}

export function exitCodeFor(reason: StopReason, request: StopRequest | undefined): number {
  switch (reason) {
    case 'duration_reached':
    case 'end_of_input':
      return ExitCode.ok;
    case 'user_interrupt':
    case 'terminated':
      return (request?.signal && SIGNAL_EXIT[request.signal]) ?? (reason === 'user_interrupt' ? ExitCode.interrupted : ExitCode.terminated);
    default:
      return ExitCode.failure;
  }
}

/** The session.json status a stop reason leaves: failures are `error`, the rest `completed`. */
export function finalStatusFor(reason: StopReason): 'completed' | 'error' | 'interrupted' {
  if (reason === 'interrupted') return 'interrupted';
  return reason === 'ffmpeg_exit' || reason === 'device_lost' || reason === 'input_damaged' || reason === 'disk_low' || reason === 'disk_full' || reason === 'error' ? 'error' : 'completed';
}

/**
 * The level of `session_stop` for a stop reason: a session that failed ends with an ERROR line (so
 * `--log-level warning` and `sessions show`'s warnings still say why), one that echolog did not see
 * end (recovery) with a WARNING, a normal end (a duration, an input's end, Ctrl-C, a signal) INFO.
 */
export function stopLevelFor(reason: StopReason): 'info' | 'warning' | 'error' {
  const status = finalStatusFor(reason);
  return status === 'error' ? 'error' : status === 'interrupted' ? 'warning' : 'info';
}

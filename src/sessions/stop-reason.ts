import { ExitCode } from '../errors.js';
import type { ProcessExit } from '../process/managed-process.js';

/**
 * Why a session ended, as written in `session_stop reason=…`, and the exit code it maps to.
 * `end_of_input`: a file input was recorded to its end (ffmpeg exited 0 with no --duration).
 * `disk_full`: the session's file system ran out of space (or inodes, or quota).
 */
export const STOP_REASONS = ['duration_reached', 'end_of_input', 'user_interrupt', 'terminated', 'ffmpeg_exit', 'disk_full', 'error', 'interrupted'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** A stop that echolog was asked for, by a signal or a caller. */
export interface StopRequest {
  reason: 'user_interrupt' | 'terminated' | 'disk_full' | 'error';
  signal?: NodeJS.Signals;
  /** For `error` and `disk_full`: what went wrong (an uncaught exception in echolog, a failed write). */
  message?: string;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Pure: how a session ended, from the stop request (if any) and how ffmpeg exited. */
export function decideStopReason(request: StopRequest | undefined, exit: ProcessExit, hadDuration: boolean): StopReason {
  if (request) return request.reason;
  if (exit.code === 0) return hadDuration ? 'duration_reached' : 'end_of_input';
  return 'ffmpeg_exit';
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
  return reason === 'ffmpeg_exit' || reason === 'disk_full' || reason === 'error' ? 'error' : 'completed';
}

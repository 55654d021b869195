import { ExitCode } from '../errors.js';
import type { CaptureOutcome } from '../capture/capture-supervisor.js';
import type { StopReason } from '../store/stop-reason.js';

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

/**
 * Why a session ended, as written in `session_stop reason=…` and session.json (stop-decision.ts decides it and its exit code).
 * `end_of_input`: a file input was recorded to its end (ffmpeg exited 0 with no --duration).
 * `disk_full`: the session's file system ran out of space (or inodes, or quota).
 * `disk_low`: the free space reached `recording.min_free_mb`, and the session stopped before the disk filled.
 * `device_lost`: a capture device went away and did not come back within `recording.reconnect_timeout`.
 * `input_damaged`: the input ended early (before its length or `--duration`) with errors on ffmpeg's stderr.
 */
export const STOP_REASONS = [
  'duration_reached',
  'end_of_input',
  'user_interrupt',
  'terminated',
  'ffmpeg_exit',
  'device_lost',
  'input_damaged',
  'disk_low',
  'disk_full',
  'error',
  'interrupted',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** The session.json status a stop reason leaves: failures are `error`, the rest `completed`. */
export function finalStatusFor(reason: StopReason): 'completed' | 'error' | 'interrupted' {
  if (reason === 'interrupted') return 'interrupted';
  return reason === 'ffmpeg_exit' ||
    reason === 'device_lost' ||
    reason === 'input_damaged' ||
    reason === 'disk_low' ||
    reason === 'disk_full' ||
    reason === 'error'
    ? 'error'
    : 'completed';
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

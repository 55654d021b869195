/**
 * The orphan watchdog (started by startOrphanWatchdog in managed-process.ts): a POSIX shell beside ffmpeg that
 * stops ffmpeg when echolog dies without stopping it (a SIGKILL, a crash), so the open chunk is finalized.
 *
 * It blocks reading a pipe whose only writer is echolog, which never writes: the kernel closes echolog's end when
 * echolog ends, however it ends, and the read returns. Then it walks the stop ladder: SIGINT (ffmpeg finalizes the
 * open chunk), SIGTERM, and SIGKILL, `tenths` × 0.1 s apart. Before each signal it checks that the pid is still the
 * ffmpeg it was started for (its start time, /proc/<pid>/stat field 22, which echolog read at spawn): a pid is
 * reused once its process is gone. Without /proc nothing can be proven: the pid alone decides, and never SIGKILL.
 * When ffmpeg ends normally, echolog ends the watchdog with SIGTERM, which it does not trap.
 *
 * A shell, not a second Node: it starts in ~1 ms of CPU and waits in under 2 MB, where a Node watchdog took ~45 ms
 * of CPU and ~44 MB for every ffmpeg run (issue 19 §2).
 *
 * Arguments (after `$0`, its name in `ps`): <ffmpeg pid> <its start ticks, or `none` without /proc> <tenths>
 */
export const ORPHAN_WATCHDOG_SCRIPT = [
  'pid=$1 ticks=$2 tenths=$3',
  'set -f',
  'ours() {',
  '  kill -0 "$pid" 2>/dev/null || return 1',
  '  [ "$ticks" = none ] && return 0',
  '  { read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1',
  '  # Counted after the last closing parenthesis (comm, field 2, may hold spaces and parentheses): field 22 is the 20th.',
  '  set -- ${stat##*\\)}',
  '  # $1 is the state: a zombie has exited already, and signals to it only keep the watchdog waiting.',
  '  [ "$1" != Z ] && [ "${20}" = "$ticks" ]',
  '}',
  'while read -r _; do :; done',
  'for signal in INT TERM KILL; do',
  '  [ "$signal" = KILL ] && [ "$ticks" = none ] && exit 0',
  '  ours || exit 0',
  '  kill -s "$signal" "$pid" 2>/dev/null || exit 0',
  '  waited=0',
  '  while [ "$waited" -lt "$tenths" ] && ours; do',
  '    # POSIX sleep need not take fractions: where it does not, wait whole seconds rather than not at all.',
  '    if sleep 0.1 2>/dev/null; then waited=$((waited + 1)); else sleep 1; waited=$((waited + 10)); fi',
  '  done',
  'done',
].join('\n');

/** Its name in `ps` (the shell's `$0`), so a person or a test can tell it from other shells. */
export const ORPHAN_WATCHDOG_NAME = 'echolog-orphan-watchdog';

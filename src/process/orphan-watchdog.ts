/**
 * Runs detached beside ffmpeg (see startOrphanWatchdog). When echolog's IPC channel closes,
 * echolog is gone: stop ffmpeg the way that keeps the open chunk (SIGINT first). When ffmpeg
 * ends normally, echolog ends this process instead of hanging up.
 * argv: <ffmpeg pid> <ms between steps>
 */
import { isSameProcessAlive, procAvailable, readStartTicks } from './process-identity.js';
import { stopProcessByPid } from './managed-process.js';

const childPid = Number(process.argv[2]);
const stepMs = Number(process.argv[3] ?? 5000);
// Read while ffmpeg surely runs (echolog starts us right after it): if ffmpeg ends and its pid is
// reused before echolog dies, the start time differs and the new process is left alone.
const childStartTicks = readStartTicks(childPid);
const hasProc = procAvailable();
/** Still the ffmpeg we were started for; with /proc and no start time read, it was gone already. */
const isOurFfmpeg = (): boolean => (hasProc && childStartTicks === undefined ? false : isSameProcessAlive(childPid, childStartTicks));

function stopOrphan(): void {
  // Without /proc the pid cannot be proven ours: never the SIGKILL rung then.
  void stopProcessByPid(childPid, stepMs, isOurFfmpeg, hasProc).finally(() => process.exit(0));
}

process.on('disconnect', stopOrphan);
// echolog may have died while this module was loading, before the listener above existed.
if (!process.connected) stopOrphan();

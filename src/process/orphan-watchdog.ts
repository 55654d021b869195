/**
 * Runs detached beside ffmpeg (see startOrphanWatchdog). When echolog's IPC channel closes,
 * echolog is gone: stop ffmpeg the way that keeps the open chunk (SIGINT first). When ffmpeg
 * ends normally, echolog ends this process instead of hanging up.
 * argv: <ffmpeg pid> <ms between steps>
 */
import { stopProcessByPid } from './managed-process.js';

const childPid = Number(process.argv[2]);
const stepMs = Number(process.argv[3] ?? 5000);

function stopOrphan(): void {
  void stopProcessByPid(childPid, stepMs).finally(() => process.exit(0));
}

process.on('disconnect', stopOrphan);
// echolog may have died while this module was loading, before the listener above existed.
if (!process.connected) stopOrphan();

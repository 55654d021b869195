/**
 * Runs detached beside ffmpeg (see startOrphanWatchdog). When echolog's IPC channel closes,
 * echolog is gone: stop ffmpeg the way that keeps the open chunk (SIGINT first).
 * argv: <ffmpeg pid> <ms between steps>
 */
import { stopProcessByPid } from './managed-process.js';

const childPid = Number(process.argv[2]);
const stepMs = Number(process.argv[3] ?? 5000);

process.on('disconnect', () => {
  void stopProcessByPid(childPid, stepMs).finally(() => process.exit(0));
});

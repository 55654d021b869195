import { readLiveness } from './daemon-state.js';
import type { DaemonStatus } from './protocol.js';
import { checkIpcRoot } from './ipc-root.js';
import { ipcPathsFor, type IpcPaths } from './ipc-paths.js';

/** What `echolog daemon status` and `echolog status` say of the session daemon. */
export interface DaemonStatusReport {
  root: string;
  state: 'ready' | 'absent' | 'not_ready';
  why?: string;
  pid?: number;
  status?: DaemonStatus;
}

export async function daemonStatusReport(paths: IpcPaths): Promise<DaemonStatusReport> {
  if ((await checkIpcRoot(paths, false)) === 'missing') return { root: paths.root, state: 'absent' };
  const live = await readLiveness(paths);
  if (live.state === 'ready') return { root: paths.root, state: 'ready', pid: live.marker.pid, status: live.status };
  if (live.state === 'absent') return { root: paths.root, state: 'absent' };
  return { root: paths.root, state: 'not_ready', why: live.why, pid: live.marker?.pid, status: live.status };
}

/** `daemon: ready, pid 4242, en-us on cpu, idle, last request 12 s ago, stops after 600 s idle (root …)` Pure. */
export function formatDaemonStatus(report: DaemonStatusReport, nowMs: number): string {
  if (report.state === 'absent') return `daemon: not running (root ${report.root})`;
  if (report.state === 'not_ready') return `daemon: not ready, ${report.why} (root ${report.root})`;
  const s = report.status!;
  const idle = Math.max(0, Math.round(nowMs / 1000 - s.last_activity));
  const activity = `${s.processing ? 'processing' : 'idle'}, last activity ${idle} s ago, stops after ${s.session_timeout} s idle`;
  return `daemon: ready, pid ${s.pid}, ${s.model_size} on ${s.device}, ${activity} (root ${report.root})`;
}

export type DaemonStatusSummary = DaemonStatusReport | { root: string; state: 'unusable'; why: string };

/** The daemon part of `echolog status` (`ipcRoot`: transcription.daemon_ipc_root): never fails the status (an unusable root is reported as such). */
export async function daemonStatusFor(
  ipcRoot: string,
  where: { env: NodeJS.ProcessEnv; home: string; cwd: string; nowMs: number },
): Promise<{ report: DaemonStatusSummary; line: string }> {
  const paths = ipcPathsFor(ipcRoot, where);
  try {
    const report = await daemonStatusReport(paths);
    return { report, line: formatDaemonStatus(report, where.nowMs) };
  } catch (error) {
    const why = (error as Error).message;
    return { report: { root: paths.root, state: 'unusable', why }, line: `daemon: ${why}` };
  }
}

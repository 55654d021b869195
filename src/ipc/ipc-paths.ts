import path from 'node:path';
import { resolveUserPath } from '../files/paths.js';

/**
 * Where the seed-004 session daemon and its clients meet. Every name below is the seed's, so
 * `--ipc-root /tmp` gives its exact paths and any compliant client or daemon interoperates.
 * Pure.
 */
export interface IpcPaths {
  root: string;
  /** Clients write `{id}.json` here; the daemon takes (removes) each once it reads it. */
  requests: string;
  /** The daemon writes `{id}.json` here; the client deletes it after reading. */
  responses: string;
  status: string;
  /** `{started, pid}` while the daemon runs; removed on clean shutdown. */
  marker: string;
  log: string;
}

export function ipcPaths(root: string): IpcPaths {
  return {
    root,
    requests: path.join(root, 'speech_session_requests'),
    responses: path.join(root, 'speech_session_responses'),
    status: path.join(root, 'session_daemon_status.json'),
    marker: path.join(root, 'session_daemon_active'),
    log: path.join(root, 'session_daemon.log'),
  };
}

/**
 * The IPC root when none is configured: a private per-user dir, so another account can neither
 * read the audio paths nor answer in the daemon's name. `$XDG_RUNTIME_DIR` is per user, on
 * tmpfs and cleaned at logout, which suits a marker of a running process.
 */
export function defaultIpcRoot(env: NodeJS.ProcessEnv, home: string): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'echolog');
  return path.join(home, '.cache', 'echolog', 'run');
}

/** The paths under the configured root (`--ipc-root`, `transcription.daemon_ipc_root`; `~` expanded), else the default. */
export function ipcPathsFor(configured: string, where: { env: NodeJS.ProcessEnv; home: string; cwd: string }): IpcPaths {
  return ipcPaths(configured ? resolveUserPath(configured, where) : defaultIpcRoot(where.env, where.home));
}

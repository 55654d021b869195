import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { EchologError, ExitCode, UsageError } from '../errors.js';
import { isRunning, readCmdline } from '../process/process-identity.js';
import { ManagedProcess, stopProcessByPid } from '../process/managed-process.js';
import { howExited } from '../process/describe-exit.js';
import { takeStopSignals } from '../process/stop-signals.js';
import { locateFfmpegFor } from '../recorder/ffmpeg-locator.js';
import { DaemonLog, startFailureOf } from '../daemon/daemon-log.js';
import { looksLikeSessionDaemon, readLiveness, readMarker } from '../ipc/daemon-state.js';
import { isMarker, isUntrusted } from '../ipc/protocol.js';
import { EngineHost } from '../daemon/engine-host.js';
import { createHostedEngine, type HostedEngineName } from '../daemon/hosted-engine.js';
import { checkIpcRoot } from '../ipc/ipc-root.js';
import { ipcPathsFor, type IpcPaths } from '../ipc/ipc-paths.js';
import { daemonStatusReport, formatDaemonStatus } from '../ipc/daemon-report.js';
import { busyError, SessionDaemon, type ShutdownReason } from '../daemon/session-daemon.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';

/** The built CLI: `daemon start` runs `daemon start --foreground` of the same echolog, detached. */
const BIN = fileURLToPath(new URL('../../bin/echolog', import.meta.url));

/** Neither hosted engine uses a GPU (pocketsphinx; whisper.cpp's prebuilt CPU binding). */
const DEVICE = 'cpu';

/** The daemon could not be started or stopped; the message says why. */
export class DaemonError extends EchologError {}

export interface DaemonStartOptions {
  resolved: ResolvedConfig;
  ipcRoot: string | undefined;
  timeoutSeconds: number;
  engine: HostedEngineName | undefined;
  model: string | undefined;
  foreground: boolean;
}

/** `--timeout`: seconds > 0 (the seed's default 600). Pure. */
export function parseSessionTimeout(value: number | undefined): number {
  if (value === undefined) return 600;
  if (!(value > 0) || !Number.isFinite(value))
    throw new UsageError(`--timeout ${value} is not allowed: expected seconds of inactivity > 0 (default 600)`);
  return value;
}

export function daemonIpcPaths(resolved: ResolvedConfig, ipcRoot: string | undefined, surroundings: Surroundings): IpcPaths {
  return ipcPathsFor(ipcRoot ?? resolved.config.transcription.daemon_ipc_root, surroundings);
}

export async function daemonStartCommand(options: DaemonStartOptions, surroundings: Surroundings): Promise<number> {
  const paths = daemonIpcPaths(options.resolved, options.ipcRoot, surroundings);
  // The root is judged before anything in it is read, and nothing is created in it before a start
  // that must be refused (a live daemon, another account's marker) is refused.
  await checkIpcRoot(paths, false);
  const already = busyError(paths.root, await readLiveness(paths));
  if (already) throw already;
  await checkIpcRoot(paths, true);
  return options.foreground ? runForeground(paths, options, surroundings) : startDetached(paths, options, surroundings);
}

/** The daemon itself, in this process, until stopped (SIGTERM, SIGINT, `daemon stop`) or idle. */
async function runForeground(paths: IpcPaths, options: DaemonStartOptions, surroundings: Surroundings): Promise<number> {
  const log = DaemonLog.open(paths.log);
  let host: EngineHost | undefined;
  let daemon: SessionDaemon | undefined;
  try {
    const config = options.resolved.config;
    const ffmpeg = await locateFfmpegFor(options.resolved, surroundings.env);
    host = new EngineHost(await createHostedEngine(config, surroundings.env, options.engine, options.model));
    daemon = new SessionDaemon({
      paths,
      engine: host,
      log,
      ffmpegPath: ffmpeg.path,
      sessionTimeoutSeconds: options.timeoutSeconds,
      device: DEVICE,
    });
    await daemon.start();
  } catch (error) {
    log.write('ERROR', 'daemon_failed', { pid: process.pid, reason: (error as Error).message });
    await daemon?.stop('error');
    await host?.close().catch(() => undefined);
    log.close();
    throw error;
  }
  const running = daemon;
  const giveBackSignals = takeStopSignals(['SIGTERM', 'SIGINT'], (signal) => void running.stop(signal));
  surroundings.stdout.write(`session daemon ready: pid ${process.pid}, ${host.name} ${host.model} on ${DEVICE}, root ${paths.root}\n`);
  const reason = await running.stopped;
  giveBackSignals();
  log.close();
  surroundings.stdout.write(`session daemon stopped: ${reason}\n`);
  return exitCodeOfShutdown(reason);
}

/** Stopped by a signal: 128 + its number, as README's exit-code table says; idle or `daemon stop` is 0. */
export function exitCodeOfShutdown(reason: ShutdownReason): number {
  return reason === 'SIGINT' ? ExitCode.interrupted : reason === 'SIGTERM' ? ExitCode.terminated : ExitCode.ok;
}

/**
 * Starts `daemon start --foreground` detached (its output into session_daemon.log) and waits for
 * seed 001's handshake: marker and fresh status of that pid with `model_loaded`, within
 * transcription.ready_timeout; else stops it and fails with the reason from its log.
 */
async function startDetached(paths: IpcPaths, options: DaemonStartOptions, surroundings: Surroundings): Promise<number> {
  const log = DaemonLog.open(paths.log);
  const args = [BIN, 'daemon', 'start', '--foreground', '--ipc-root', paths.root, '--timeout', String(options.timeoutSeconds)];
  if (options.engine) args.push('--engine', options.engine);
  if (options.model) args.push('--model', options.model);
  if (options.resolved.filePath) args.push('--config', options.resolved.filePath);
  let child: ManagedProcess;
  try {
    child = await ManagedProcess.start(process.execPath, args, {
      cwd: surroundings.cwd,
      env: surroundings.env,
      detached: true,
      stderrFd: log.fd,
    });
  } finally {
    log.close();
  }
  child.unref();
  const readyTimeoutMs = options.resolved.config.transcription.ready_timeout * 1000;
  // Monotonic: a clock stepped back must not stretch the wait.
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    const live = await readLiveness(paths);
    if (live.state === 'ready' && live.marker.pid === child.pid) {
      surroundings.stdout.write(
        `session daemon ready: pid ${child.pid}, ${live.status.model_size} on ${live.status.device}, root ${paths.root} (log ${paths.log})\n`,
      );
      return 0;
    }
    if (child.hasExited || performance.now() >= deadline) break;
    await sleep(50);
  }
  const timedOut = !child.hasExited;
  if (timedOut) await child.stop({ stepTimeoutMs: 2000 });
  const exit = await child.exited;
  // Stopped while loading, it had no time to remove its marker: nothing of it is left behind.
  const marker = await readMarker(paths);
  if (isMarker(marker) && marker.pid === child.pid) await fs.rm(paths.marker, { force: true });
  const reason = startFailureOf(await fs.readFile(paths.log, 'utf8').catch(() => ''), child.pid);
  const how = timedOut ? `did not become ready within ${readyTimeoutMs / 1000} s (transcription.ready_timeout)` : howExited(exit);
  throw new DaemonError(`the session daemon ${how}${reason ? `: ${reason}` : ''}; see ${paths.log}`);
}

export async function daemonStopCommand(
  options: { resolved: ResolvedConfig; ipcRoot: string | undefined },
  surroundings: Surroundings,
): Promise<number> {
  const paths = daemonIpcPaths(options.resolved, options.ipcRoot, surroundings);
  if ((await checkIpcRoot(paths, false)) === 'missing') {
    surroundings.stdout.write(`no session daemon on ${paths.root}\n`);
    return 0;
  }
  const marker = await readMarker(paths);
  // Another account's marker names a pid of theirs: nothing to stop, and it cannot be removed.
  if (isUntrusted(marker)) throw new DaemonError(`the marker ${marker.untrusted}; not signalling the pid it names`);
  if (!isMarker(marker) || !isRunning(marker.pid)) {
    if (marker !== undefined) await fs.rm(paths.marker, { force: true });
    surroundings.stdout.write(
      marker === undefined
        ? `no session daemon on ${paths.root}\n`
        : `no session daemon on ${paths.root}; removed its stale marker ${paths.marker}\n`,
    );
    return 0;
  }
  const pid = marker.pid;
  const isTarget = (): boolean => isRunning(pid) && looksLikeSessionDaemon(readCmdline(pid));
  if (!isTarget())
    throw new DaemonError(
      `the marker ${paths.marker} names pid ${pid}, which is not a session daemon ` +
        `(its command line is ${JSON.stringify(readCmdline(pid)?.join(' ') ?? '?')}); not signalling it`,
    );
  // SIGINT then SIGTERM, never SIGKILL: the daemon removes its marker on either.
  await stopProcessByPid(pid, 5000, isTarget, false);
  if (isTarget()) throw new DaemonError(`the session daemon (pid ${pid}) did not stop within 10 s`);
  surroundings.stdout.write(`session daemon stopped (pid ${pid})\n`);
  return 0;
}

export async function daemonStatusCommand(
  options: { resolved: ResolvedConfig; ipcRoot: string | undefined; json: boolean },
  surroundings: Surroundings,
): Promise<number> {
  const report = await daemonStatusReport(daemonIpcPaths(options.resolved, options.ipcRoot, surroundings));
  surroundings.stdout.write(options.json ? formatJson(report) : `${formatDaemonStatus(report, surroundings.now().getTime())}\n`);
  return report.state === 'ready' ? 0 : 1;
}

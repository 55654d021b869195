import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { exitOf, waitFor, type Sandbox } from './cli.js';
import { MARK } from './processes.js';

/** Whether this machine can run a private PulseAudio server (package `pulseaudio`). */
export const hasPulse = spawnSync('pulseaudio', ['--version']).status === 0;

const started: ChildProcess[] = [];

/**
 * A private PulseAudio server for a sandbox (its own XDG_RUNTIME_DIR and HOME): one null sink,
 * whose monitor is the default source, reached over the unix socket echolog looks for.
 * Resolves once `pactl info` answers.
 */
export async function startPulse(box: Pick<Sandbox, 'env' | 'home'>): Promise<ChildProcess> {
  const env = { PATH: process.env.PATH, XDG_RUNTIME_DIR: box.env.XDG_RUNTIME_DIR!, HOME: box.home, [MARK]: process.env[MARK] };
  fs.mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  const server = spawn('pulseaudio', ['-n', '--load=module-native-protocol-unix', '--load=module-null-sink', '--daemonize=no', '--exit-idle-time=-1'], { env, stdio: 'ignore' });
  started.push(server);
  await waitFor(() => spawnSync('pactl', ['info'], { env }).status === 0, 15_000, 'the PulseAudio server');
  return server;
}

/** Kills a server (as a crash would) and waits until it is gone. */
export async function killPulse(server: ChildProcess): Promise<void> {
  server.kill('SIGKILL');
  await exitOf(server);
}

/** For afterAll: no server outlives the tests. */
export function killAllPulse(): void {
  for (const server of started) if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
}

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
  // A box without XDG_RUNTIME_DIR gets a server as libpulse makes one then: its socket in /tmp/pulse-…,
  // linked from ~/.config/pulse/<machine-id>-runtime.
  const env = {
    PATH: process.env.PATH,
    HOME: box.home,
    [MARK]: process.env[MARK],
    ...(box.env.XDG_RUNTIME_DIR ? { XDG_RUNTIME_DIR: box.env.XDG_RUNTIME_DIR } : {}),
  };
  if (env.XDG_RUNTIME_DIR) fs.mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  const server = spawn(
    'pulseaudio',
    ['-n', '--load=module-native-protocol-unix', '--load=module-null-sink', '--daemonize=no', '--exit-idle-time=-1'],
    { env, stdio: 'ignore' },
  );
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

/**
 * A player on the server's null sink (`paplay` of a 440 Hz tone), so its monitor carries sound as
 * a microphone would; killed with the servers in killAllPulse. Resolves once it plays.
 */
export async function startPlayer(box: Pick<Sandbox, 'env' | 'home' | 'root'>, seconds = 120): Promise<ChildProcess> {
  const tone = `${box.root}/player-tone.wav`;
  spawnSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
    tone,
  ]);
  const env = { PATH: process.env.PATH, HOME: box.home, ...(box.env.XDG_RUNTIME_DIR ? { XDG_RUNTIME_DIR: box.env.XDG_RUNTIME_DIR } : {}) };
  const player = spawn('paplay', [tone], { env, stdio: 'ignore' });
  started.push(player);
  await waitFor(
    () => /^\d+\t/m.test(spawnSync('pactl', ['list', 'short', 'sink-inputs'], { env, encoding: 'utf8' }).stdout),
    15_000,
    'the player',
  );
  return player;
}

import fs from 'node:fs';
import os from 'node:os';
import { homeDirectory } from '../files/paths.js';
import path from 'node:path';

/**
 * Where a PulseAudio client (libpulse, and so ffmpeg and pactl) finds its server, by libpulse's own
 * rules (pa_get_runtime_dir, pa_context_connect): `PULSE_SERVER` if set; else the socket `native` in
 * the runtime dir, which is `PULSE_RUNTIME_PATH`, else `$XDG_RUNTIME_DIR/pulse`, else the link
 * `<config>/<machine-id>-runtime` the server made (to `/tmp/pulse-…` when it started without
 * XDG_RUNTIME_DIR), where `<config>` is `PULSE_CONFIG_PATH`, else `$XDG_CONFIG_HOME/pulse`, else
 * `~/.config/pulse`; then the system-wide socket. Checking for the socket first means asking never
 * autospawns a server. Paths are real ones, for messages a user can act on.
 */
export type PulseServerLookup =
  /** PULSE_SERVER names it (a path, `unix:…`, `tcp:…`): only asking tells whether it answers. */
  | { kind: 'named'; server: string }
  /** A socket exists at `socket` (links resolved). */
  | { kind: 'socket'; socket: string }
  /** No socket at any of these paths. */
  | { kind: 'none'; tried: string[] };

export interface PulseLookupFacts {
  home: string;
  /** /etc/machine-id (or /var/lib/dbus/machine-id, else the host name), as libpulse reads it. */
  machineId: string;
}

const SYSTEM_SOCKET = '/run/pulse/native';

/** Pure: the sockets libpulse tries, in order (without PULSE_SERVER). */
export function pulseSocketCandidates(env: NodeJS.ProcessEnv, facts: PulseLookupFacts): string[] {
  const runtimeDir = env.PULSE_RUNTIME_PATH || (env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'pulse') : undefined);
  const configDir = env.PULSE_CONFIG_PATH || path.join(env.XDG_CONFIG_HOME || path.join(facts.home, '.config'), 'pulse');
  const userSocket = path.join(runtimeDir ?? path.join(configDir, `${facts.machineId}-runtime`), 'native');
  return [userSocket, SYSTEM_SOCKET];
}

/** Where the PulseAudio server is, looked up as libpulse does (see above). */
export function locatePulseServer(env: NodeJS.ProcessEnv): PulseServerLookup {
  if (env.PULSE_SERVER) return { kind: 'named', server: env.PULSE_SERVER };
  const tried = pulseSocketCandidates(env, { home: homeDirectory(env), machineId: readMachineId() });
  for (const candidate of tried) {
    const socket = realSocket(candidate);
    if (socket) return { kind: 'socket', socket };
  }
  return { kind: 'none', tried };
}

/** The server in words: `/tmp/pulse-Z1rX/native`, or `PULSE_SERVER=tcp:host`. */
export function describePulseServer(lookup: PulseServerLookup): string {
  switch (lookup.kind) {
    case 'named':
      return `PULSE_SERVER=${lookup.server}`;
    case 'socket':
      return lookup.socket;
    default:
      return lookup.tried.join(' or ');
  }
}

function realSocket(candidate: string): string | undefined {
  try {
    const real = fs.realpathSync(candidate);
    return fs.statSync(real).isSocket() ? real : undefined;
  } catch {
    return undefined;
  }
}

function readMachineId(): string {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = fs.readFileSync(file, 'utf8').trim();
      if (id) return id;
    } catch {
      // the next one
    }
  }
  return os.hostname();
}

import { measureLevel, type AudioLevel } from '../audio/audio-level.js';
import { runCommand } from '../process/managed-process.js';
import { findOnPath } from '../process/find-executable.js';
import { FFMPEG_EXIT_MEANINGS, FFMPEG_FAILURE_LINES } from '../recorder/ffmpeg-stderr.js';
import { describeExit } from '../process/describe-exit.js';
import type { CaptureInput } from '../recorder/ffmpeg-args.js';
import {
  ffmpegSourcesError,
  parseAvfoundationDevices,
  parseDshowDevices,
  parseFfmpegSources,
  parsePactlDefaultSource,
  parsePactlSources,
  type CaptureDevice,
} from './device-list.js';
import { describePulseServer, locatePulseServer } from './pulse-server.js';

/** The capture devices of one input format, or why they could not be listed. */
export interface DeviceSection {
  format: CaptureDevice['format'];
  devices: CaptureDevice[];
  problem?: string;
}

const LIST_TIMEOUT_MS = 10_000;

/** Whether the PulseAudio server answers, and where it is (found as libpulse finds it: pulse-server.ts). */
export interface PulseState {
  running: boolean;
  /** The socket (a real path) or PULSE_SERVER; for a server not found, every path looked at. */
  server: string;
  /** Why not, in words a user can act on. */
  problem?: string;
}

/**
 * Whether a PulseAudio (or PipeWire-pulse) server answers: found where libpulse looks (a socket
 * that exists, so asking never autospawns one), then `pactl info` must answer, if pactl is installed.
 */
export async function pulseState(env: NodeJS.ProcessEnv): Promise<PulseState> {
  const lookup = locatePulseServer(env);
  const server = describePulseServer(lookup);
  if (lookup.kind === 'none') return { running: false, server, problem: `PulseAudio is not running (no server at ${server})` };
  const pactl = findOnPath('pactl', env);
  if (!pactl) return { running: true, server };
  const info = await runCommand(pactl, ['info'], { env, timeoutMs: LIST_TIMEOUT_MS }).catch(() => undefined);
  return info?.code === 0
    ? { running: true, server }
    : { running: false, server, problem: `PulseAudio is not running (${server} does not answer)` };
}

/** The platform's capture devices by name, the default marked. */
export async function listCaptureDevices(
  ffmpeg: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): Promise<DeviceSection[]> {
  switch (platform) {
    case 'darwin': {
      const out = await runCommand(ffmpeg, ['-hide_banner', '-f', 'avfoundation', '-list_devices', 'true', '-i', ''], {
        env,
        timeoutMs: LIST_TIMEOUT_MS,
      });
      return [{ format: 'avfoundation', devices: parseAvfoundationDevices(out.stderr) }];
    }
    case 'win32': {
      const out = await runCommand(ffmpeg, ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'], {
        env,
        timeoutMs: LIST_TIMEOUT_MS,
      });
      return [{ format: 'dshow', devices: parseDshowDevices(out.stderr) }];
    }
    default:
      return [await listPulse(ffmpeg, env), await listFfmpegSources(ffmpeg, env, 'alsa')];
  }
}

/** The capture device named exactly `name` (as `--input` takes it), if the platform lists one. */
export async function findCaptureDevice(
  ffmpeg: string,
  env: NodeJS.ProcessEnv,
  name: string,
  platform: NodeJS.Platform = process.platform,
): Promise<CaptureDevice | undefined> {
  const sections = await listCaptureDevices(ffmpeg, env, platform);
  return sections.flatMap((section) => section.devices).find((device) => device.name === name);
}

async function listPulse(ffmpeg: string, env: NodeJS.ProcessEnv): Promise<DeviceSection> {
  const state = await pulseState(env);
  if (!state.running) return { format: 'pulse', devices: [], problem: state.problem };
  const pactl = findOnPath('pactl', env);
  if (pactl) {
    const [sources, info] = await Promise.all([
      runCommand(pactl, ['list', 'short', 'sources'], { env, timeoutMs: LIST_TIMEOUT_MS }),
      runCommand(pactl, ['info'], { env, timeoutMs: LIST_TIMEOUT_MS }),
    ]);
    if (sources.code === 0)
      return { format: 'pulse', devices: parsePactlSources(sources.stdout.toString(), parsePactlDefaultSource(info.stdout.toString())) };
  }
  return listFfmpegSources(ffmpeg, env, 'pulse');
}

async function listFfmpegSources(ffmpeg: string, env: NodeJS.ProcessEnv, format: 'pulse' | 'alsa'): Promise<DeviceSection> {
  const out = await runCommand(ffmpeg, ['-hide_banner', '-sources', format], { env, timeoutMs: LIST_TIMEOUT_MS });
  // ffmpeg prints the list on stdout and its problems on stderr.
  const text = `${out.stdout.toString()}\n${out.stderr}`;
  const problem = ffmpegSourcesError(text);
  return { format, devices: parseFfmpegSources(text, format), problem: problem && `ffmpeg cannot list ${format} sources: ${problem}` };
}

export type InputProbe = { ok: true; level: AudioLevel; seconds: number } | { ok: false; error: string };

/** Opens an input for about a second, as `record` would, and measures what it hears. */
export async function probeInput(ffmpeg: string, input: CaptureInput, env: NodeJS.ProcessEnv): Promise<InputProbe> {
  const rate = 16000;
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'level+error',
    ...(input.format ? ['-f', input.format] : []),
    '-i',
    input.input,
    '-t',
    '1',
    '-vn',
    '-ac',
    '1',
    '-ar',
    String(rate),
    '-f',
    's16le',
    '-',
  ];
  const out = await runCommand(ffmpeg, args, { env, timeoutMs: 8000 });
  const seconds = out.stdout.length / 2 / rate;
  if (out.code !== 0 || seconds === 0) {
    const stderr = out.stderr.split('\n').filter(Boolean);
    const why = out.timedOut
      ? 'no audio within 8 s'
      : describeExit(ffmpeg, out, stderr, {
          ...FFMPEG_FAILURE_LINES,
          maxLines: 3,
          meanings: FFMPEG_EXIT_MEANINGS,
          context: out.code === 0 ? ' without audio' : '',
        });
    return { ok: false, error: why };
  }
  return { ok: true, level: measureLevel(out.stdout, rate, 1), seconds };
}

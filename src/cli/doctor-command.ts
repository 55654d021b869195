import fs from 'node:fs/promises';
import { formatDb } from '../audio/audio-level.js';
import { probeInput, pulseState } from '../capture/capture-devices.js';
import { diskVerdict, freeBytes, WARN_FACTOR } from '../capture/disk-guard.js';
import { SILENT_INPUT_DB } from '../capture/silence-alarm.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { EchologError } from '../errors.js';
import { runCommand } from '../process/managed-process.js';
import { describeExit } from '../process/describe-exit.js';
import { FFMPEG_EXIT_MEANINGS } from '../recorder/ffmpeg-stderr.js';
import { defaultCaptureInput, type CaptureInput } from '../recorder/ffmpeg-args.js';
import { configuredFfmpeg, locateConfiguredFfmpeg, type FfmpegLocation } from '../recorder/ffmpeg-locator.js';
import { detectPlatform } from '../capture/recording-plan.js';
import { resolveUserPath } from '../files/paths.js';
import { checkRecordingsDir } from '../store/recordings-dir.js';
import { resolveEngine } from '../transcription/engines/resolve-engine.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';
import { formatMib } from '../format-bytes.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `echolog doctor`: what was checked, what was found, and how to fix it. */
export interface DoctorCheck {
  status: CheckStatus;
  what: string;
  detail: string;
  fix?: string;
}

export interface DoctorCommandOptions {
  resolved: ResolvedConfig;
  json: boolean;
}

/** `echolog doctor`: checks what a recording needs, one line each; exit 1 if any check fails. */
export async function doctorCommand(options: DoctorCommandOptions, surroundings: Surroundings): Promise<number> {
  const checks = await runDoctorChecks(options.resolved, surroundings);
  surroundings.stdout.write(options.json ? formatJson(checks) : formatDoctor(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

export async function runDoctorChecks(resolved: ResolvedConfig, surroundings: Surroundings): Promise<DoctorCheck[]> {
  const { env } = surroundings;
  const ffmpeg = await checkFfmpeg(resolved, env);
  const checks = [ffmpeg.check];
  if (process.platform === 'linux') {
    const pulse = await pulseState(env);
    checks.push(
      pulse.running
        ? { status: 'ok', what: 'audio server', detail: `PulseAudio is running (${pulse.server})` }
        : {
            status: 'warn',
            what: 'audio server',
            detail: `${pulse.problem}; the default input is ALSA's`,
            fix: 'start it (`pulseaudio --start`, or `systemctl --user start pipewire-pulse`)',
          },
    );
  }
  checks.push(await checkInput(resolved, env, ffmpeg.location), await checkEngine(resolved, env));
  if (resolved.config.transcription.engine === 'openai') checks.push(await checkOpenAiEndpoint(resolved, env));
  checks.push(await checkRecordingsFolder(resolved, surroundings), checkConfigFile(resolved));
  return checks;
}

/** Pure: `ok    ffmpeg: /usr/bin/ffmpeg (PATH), version 5.1` — one line per check, the fix after it. */
export function formatDoctor(checks: readonly DoctorCheck[]): string {
  return checks.map((c) => `${c.status.padEnd(5)} ${c.what}: ${c.detail}${c.fix ? ` — fix: ${c.fix}` : ''}\n`).join('');
}

async function checkFfmpeg(resolved: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<{ check: DoctorCheck; location?: FfmpegLocation }> {
  const what = 'ffmpeg';
  let location: FfmpegLocation;
  try {
    location = await locateConfiguredFfmpeg(
      configuredFfmpeg(resolved.config.ffmpeg.path, resolved.settings['ffmpeg.path']?.[0]?.source),
      env,
    );
  } catch (error) {
    if (!(error instanceof EchologError)) throw error;
    return { check: { status: 'fail', what, detail: error.message } };
  }
  const where = `${location.path} (${location.source})`;
  const out = await runCommand(location.path, ['-hide_banner', '-version'], { env, timeoutMs: 10_000 }).catch((error: Error) => error);
  if (out instanceof Error || out.code !== 0) {
    const why =
      out instanceof Error
        ? out.message
        : describeExit(`${location.path} -version`, out, out.stderr.split('\n'), { meanings: FFMPEG_EXIT_MEANINGS });
    return {
      check: {
        status: 'fail',
        what,
        detail: `${where} does not run: ${why}`,
        fix: 'point ffmpeg.path or ECHOLOG_FFMPEG at a working ffmpeg, or unset them to use the one on PATH',
      },
    };
  }
  const version = /^ffmpeg version (\S+)/m.exec(out.stdout.toString())?.[1];
  if (!version)
    return {
      check: {
        status: 'fail',
        what,
        detail: `${where} does not say it is ffmpeg (\`-version\` printed no "ffmpeg version")`,
        fix: 'point ffmpeg.path or ECHOLOG_FFMPEG at ffmpeg itself',
      },
    };
  return { check: { status: 'ok', what, detail: `${where}, version ${version}` }, location };
}

async function checkInput(resolved: ResolvedConfig, env: NodeJS.ProcessEnv, ffmpeg: FfmpegLocation | undefined): Promise<DoctorCheck> {
  const { input_format: format, input } = resolved.config.recording;
  const capture: CaptureInput = input
    ? { format, input }
    : format
      ? { format, input: 'default' }
      : defaultCaptureInput(detectPlatform(env));
  const what = `input ${capture.format || 'file'} ${capture.input}`;
  if (!ffmpeg) return { status: 'warn', what, detail: 'not opened: no working ffmpeg' };
  const probe = await probeInput(ffmpeg.path, capture, env);
  if (!probe.ok)
    return {
      status: 'fail',
      what,
      detail: `cannot be opened: ${probe.error}`,
      fix: '`echolog devices` lists the inputs; choose one with --input-format and --input (or recording.input)',
    };
  const level = `${formatDb(probe.level.levelDb)} dBFS over ${probe.seconds.toFixed(1)} s`;
  if (probe.level.levelDb < SILENT_INPUT_DB)
    return {
      status: 'warn',
      what,
      detail: `opens, but is silent (${level})`,
      fix: 'unmute the microphone, or pick another input (`echolog devices`)',
    };
  return { status: 'ok', what, detail: `opens, level ${level}` };
}

async function checkEngine(resolved: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const t = resolved.config.transcription;
  const what = 'transcription';
  // As `record` would choose it: live, where the stream decoder (partial text) may run.
  const resolution = await resolveEngine(resolved.config, env, undefined, { live: true });
  if (resolution.kind === 'engine') {
    const partial = resolution.startFields?.partial_text;
    const partialText =
      partial === undefined
        ? ''
        : partial === 'on'
          ? '; partial text on'
          : `; partial text off (${resolution.startFields?.partial_text_reason})`;
    return { status: 'ok', what, detail: `${resolution.name}, model ${resolution.model}${partialText}` };
  }
  const status: CheckStatus = t.required ? 'fail' : 'warn';
  if (resolution.kind === 'missing')
    return {
      status,
      what,
      detail: `${resolution.name} unavailable: ${resolution.reason}`,
      fix: 'install it, or record with --no-transcribe',
    };
  return t.engine === 'none'
    ? { status: 'ok', what, detail: 'off (transcription.engine is none)' }
    : { status, what, detail: `off: ${resolution.reason}`, fix: resolution.hint };
}

/** Engine openai: the server is reachable, takes the key and knows the model (which failed, if one did). */
async function checkOpenAiEndpoint(resolved: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const { openAiSettings, openAiSettingsProblem } = await import('../transcription/engines/openai-settings.js');
  const settings = openAiSettings(resolved.config, env);
  const status: CheckStatus = resolved.config.transcription.required ? 'fail' : 'warn';
  const what = 'openai endpoint';
  const problem = openAiSettingsProblem(settings, env);
  if (problem) return { status, what, detail: problem };
  const { checkEndpoint } = await import('../transcription/engines/openai-check.js');
  const check = await checkEndpoint(settings);
  return check.ok
    ? { status: 'ok', what, detail: check.detail }
    : { status, what, detail: check.detail, ...(check.fix ? { fix: check.fix } : {}) };
}

async function checkRecordingsFolder(resolved: ResolvedConfig, surroundings: Surroundings): Promise<DoctorCheck> {
  const dir = resolveUserPath(resolved.config.recordings_dir, surroundings);
  const what = `recordings dir ${dir}`;
  let exists: boolean;
  try {
    exists = await checkRecordingsDir(dir);
  } catch (error) {
    if (!(error instanceof EchologError)) throw error;
    return { status: 'fail', what, detail: error.message };
  }
  let place = 'created on first record';
  if (exists) {
    const stat = await fs.stat(dir);
    const writable = await fs.access(dir, fs.constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!writable)
      return { status: 'fail', what, detail: 'not writable by you', fix: `chmod u+w ${dir}, or choose another with --recordings-dir` };
    place = `owner uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}`;
  }
  const minFree = resolved.config.recording.min_free_mb;
  const free = await freeBytes(dir);
  const space = `${formatMib(free)} free`;
  switch (diskVerdict(free, minFree)) {
    case 'too_low':
      return {
        status: 'fail',
        what,
        detail: `${place}; ${space}, below recording.min_free_mb (${minFree} MiB): record refuses to start`,
        fix: 'free some space, or choose another dir',
      };
    case 'low':
      return {
        status: 'warn',
        what,
        detail: `${place}; ${space}, below ${WARN_FACTOR} × recording.min_free_mb (${minFree} MiB)`,
        fix: 'free some space soon',
      };
    default:
      return { status: 'ok', what, detail: `${place}; ${space}${minFree > 0 ? ` (min_free_mb ${minFree})` : ' (free-space guard off)'}` };
  }
}

function checkConfigFile(resolved: ResolvedConfig): DoctorCheck {
  return {
    status: 'ok',
    what: 'config',
    detail: resolved.filePath
      ? `${resolved.filePath} (then ECHOLOG_* variables and flags)`
      : 'no config file: defaults, ECHOLOG_* variables and flags',
  };
}

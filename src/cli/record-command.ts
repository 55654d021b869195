import fs from 'node:fs';
import path from 'node:path';
import { takeStopSignals } from '../process/stop-signals.js';
import { describePulseServer, locatePulseServer } from '../capture/pulse-server.js';
import type { EchologConfig } from '../config/schema.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { locateFfmpegFor } from '../recorder/ffmpeg-locator.js';
import { detectPlatform, planRecording, type RecordingPlan } from '../capture/recording-plan.js';
import { RecordingSession, type RecordingResult } from '../recording/recording-session.js';
import { resolveUserPath } from '../files/paths.js';
import { newSessionId, validateSessionId } from '../store/session-id.js';
import { checkResumable } from '../sessions/session-resume.js';
import type { SessionComponent } from '../transcription/session-component.js';
import { readManifest } from '../store/session-manifest.js';
import { createTranscriptionComponents } from '../transcription/session-transcriber.js';
import { formatJson } from './json-output.js';
import { createProgressReporter } from './progress.js';
import type { Surroundings } from './surroundings.js';
import { terminalStyle } from './terminal.js';
import { plural } from './text-format.js';

export interface RecordCommandOptions {
  resolved: ResolvedConfig;
  durationSeconds?: number;
  sessionId?: string;
  /** `--resume <id>`: the session this one is linked to (seed 003's soft resume). */
  resume?: string;
  dryRun: boolean;
  quiet: boolean;
  /** `--no-color` */
  noColor?: boolean;
  /** `--json`: progress goes to stderr, and stdout gets only the final summary (RecordSummary). */
  json?: boolean;
}

/** `record --json`: the one document on stdout when the session ends, whatever the reason. */
export interface RecordSummary {
  session_id: string;
  session_dir: string;
  chunks: number;
  audio_seconds: number;
  stop_reason: string;
  exit_code: number;
}

/** Plans a recording from the effective config; creates nothing. */
export async function planFromConfig(options: RecordCommandOptions, surroundings: Surroundings): Promise<RecordingPlan> {
  const sessionId = options.sessionId !== undefined ? validateSessionId(options.sessionId) : newSessionId(surroundings.now());
  const { config } = options.resolved;
  const ffmpeg = await locateFfmpegFor(options.resolved, surroundings.env);
  const recordingsDir = resolveUserPath(config.recordings_dir, surroundings);
  const resumedFrom = options.resume === undefined ? undefined : await checkResumable(recordingsDir, options.resume);
  return planRecording({
    config: await deviceForBareInput(config, ffmpeg.path, surroundings),
    sessionId,
    durationSeconds: options.durationSeconds,
    resumedFrom,
    ffmpeg,
    platform: detectPlatform(surroundings.env),
    cwd: surroundings.cwd,
    home: surroundings.home,
  });
}

/**
 * A bare `--input` that is no file but the name of a known capture device (what `echolog devices`
 * lists, e.g. a PulseAudio source): that device, said on stderr, rather than "no such file".
 */
async function deviceForBareInput(config: EchologConfig, ffmpegPath: string, surroundings: Surroundings): Promise<EchologConfig> {
  const { input, input_format: format } = config.recording;
  if (!input || format || fs.existsSync(path.resolve(surroundings.cwd, input))) return config;
  // Loaded only on this path: listing devices is no part of an ordinary start.
  const { findCaptureDevice } = await import('../capture/capture-devices.js');
  const device = await findCaptureDevice(ffmpegPath, surroundings.env, input).catch(() => undefined);
  if (!device) return config;
  surroundings.stderr.write(
    `echolog: --input ${input}: no such file, but a ${device.format} capture device of that name: recording from it (--input-format ${device.format})\n`,
  );
  return { ...config, recording: { ...config.recording, input_format: device.format } };
}

/** `echolog record`: returns the exit code; signals stop the session in order. */
export async function recordCommand(options: RecordCommandOptions, surroundings: Surroundings): Promise<number> {
  const plan = await planFromConfig(options, surroundings);
  const { recording } = options.resolved.config;
  if (!recording.input && !recording.input_format && plan.input.format === 'alsa' && process.platform === 'linux') {
    // Said before ffmpeg's `ALSA lib` lines, which never name the real cause.
    const where = describePulseServer(locatePulseServer(surroundings.env));
    surroundings.stderr.write(
      `echolog: warning: PulseAudio is not running (no server at ${where}); recording from ALSA's default device (\`echolog doctor\` checks it)\n`,
    );
  }
  if (options.dryRun) {
    surroundings.stdout.write(options.json ? formatJson(dryRunJson(plan, options.resolved)) : formatDryRun(plan, options.resolved));
    return 0;
  }
  const components: SessionComponent[] = createTranscriptionComponents(options.resolved.config, surroundings.env, {
    realTime: plan.realTime,
    ffmpegPath: plan.ffmpeg.path,
  });
  // With --json, stdout carries the summary alone: progress goes to the screen on stderr.
  const screen = options.json ? surroundings.stderr : surroundings.stdout;
  const progress = createProgressReporter({
    stdout: screen,
    stderr: surroundings.stderr,
    style: terminalStyle({
      env: surroundings.env,
      isTTY: Boolean(screen.isTTY),
      columns: (screen as Surroundings['stdout']).columns,
      noColorFlag: Boolean(options.noColor),
    }),
    quiet: options.quiet,
    ffmpeg: plan.ffmpeg,
    engine: options.resolved.config.transcription.engine,
    now: surroundings.now,
  });
  const session = new RecordingSession({
    plan,
    resolved: options.resolved,
    components,
    stderr: surroundings.stderr,
    onEvent: (event) => progress.onEvent(event),
    now: surroundings.now,
  });
  const detach = installStopHandlers(session, surroundings.stderr);
  // The screen (stdout, or stderr under --json) going away is logged and ends the progress
  // output; the recording goes on.
  const screenStream = options.json ? 'stderr' : 'stdout';
  const unwatch = surroundings.outputs?.onClosed((closed) => {
    session.noteOutputClosed(closed.stream, closed.code);
    if (closed.stream === screenStream) progress.stop();
    // A closed pipe is expected and silent; any other write error is said once on stderr.
    if (closed.stream === 'stdout' && closed.code !== 'EPIPE') {
      surroundings.stderr.write(
        `echolog: cannot write ${options.json ? 'the summary' : 'progress'} to stdout (${closed.code}); recording continues\n`,
      );
    }
  });
  let result: RecordingResult;
  try {
    result = await session.run();
  } finally {
    detach();
    unwatch?.();
    progress.stop();
  }
  screen.write(`Stopped (${result.reason}): ${plural(result.chunks, 'chunk')} in ${result.sessionDir}\n`);
  if (options.json) surroundings.stdout.write(formatJson(await summarize(result)));
  if (result.error) throw result.error;
  return result.exitCode;
}

async function summarize(result: RecordingResult): Promise<RecordSummary> {
  // The audio length is the final session.json's (the sum of whole chunks' samples, as session_stop says).
  const manifest = await readManifest(result.sessionDir).catch(() => undefined);
  return {
    session_id: result.sessionId,
    session_dir: result.sessionDir,
    chunks: result.chunks,
    audio_seconds: manifest?.stats.audio_duration_seconds ?? 0,
    stop_reason: result.reason,
    exit_code: result.error?.exitCode ?? result.exitCode,
  };
}

/** SIGINT/SIGTERM/SIGHUP stop the session cleanly; a crash inside echolog ends it with reason=error. */
function installStopHandlers(session: RecordingSession, stderr: Surroundings['stderr']): () => void {
  let fatal = false;
  const onFatal = (error: unknown): void => {
    // Said and acted on once: whatever fails while the session stops must not come back through here.
    if (fatal) return;
    fatal = true;
    stderr.write(`echolog: internal error, stopping the session: ${(error as Error)?.stack ?? String(error)}\n`);
    session.stop({ reason: 'error', message: (error as Error)?.message ?? String(error) });
  };
  const giveBackSignals = takeStopSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], (signal) =>
    session.stop({ reason: signal === 'SIGINT' ? 'user_interrupt' : 'terminated', signal }),
  );
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  return () => {
    giveBackSignals();
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  };
}

/** `record --dry-run --json`: the same facts, the ffmpeg command as its argv. */
function dryRunJson(plan: RecordingPlan, resolved: ResolvedConfig): Record<string, unknown> {
  const { config } = resolved;
  return {
    session_id: plan.sessionId,
    session_dir: plan.sessionDir,
    input_format: plan.input.format || 'file',
    input: plan.input.input,
    duration_seconds: plan.durationSeconds ?? null,
    segment_time: config.recording.segment_time,
    sample_rate: config.recording.sample_rate,
    channels: config.recording.channels,
    transcription_engine: config.transcription.engine,
    config_file: resolved.filePath ?? null,
    ffmpeg: { path: plan.ffmpeg.path, source: plan.ffmpeg.source },
    ffmpeg_args: plan.args,
  };
}

function formatDryRun(plan: RecordingPlan, resolved: ResolvedConfig): string {
  const { config } = resolved;
  return [
    `session_id:     ${plan.sessionId}`,
    `session dir:    ${plan.sessionDir}`,
    `input:          ${plan.input.format || 'file'} ${plan.input.input}`,
    `duration:       ${plan.durationSeconds ?? 'until stopped'}`,
    `segment_time:   ${config.recording.segment_time} s`,
    `audio:          pcm_s16le wav, ${config.recording.sample_rate} Hz, ${config.recording.channels} ch`,
    `log:            level=${config.logging.level} rotation=${config.logging.rotation}`,
    `transcription:  ${config.transcription.engine}`,
    `config file:    ${resolved.filePath ?? '(none)'}`,
    `ffmpeg:         ${plan.ffmpeg.path} (${plan.ffmpeg.source})`,
    `command:`,
    `  ${plan.commandLine}`,
    '',
  ].join('\n');
}

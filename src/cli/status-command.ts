import { peekConfig, type PeekedConfig } from '../config/peek-config.js';
import type { EchologConfig } from '../config/schema.js';
import { EchologError } from '../errors.js';
import { configuredFfmpeg, locateConfiguredFfmpeg, type FfmpegLocation } from '../recorder/ffmpeg-locator.js';
import { resolveUserPath } from '../files/paths.js';
import { sessionStatus, type StatusReport } from '../sessions/session-status.js';
import type { CaptureStatus, SessionManifest } from '../store/session-manifest.js';
import { daemonStatusFor, type DaemonStatusSummary } from '../ipc/daemon-report.js';
import { formatJson, manifestJson } from './json-output.js';
import type { StatusArgs } from './status-args.js';
import type { Surroundings } from './surroundings.js';
import { formatElapsed, plural } from './text-format.js';

/** `status` as printed: the sessions, and the ffmpeg `record` would run (or why there is none). */
export type StatusOutput = StatusReport & { ffmpeg: FfmpegLocation | { error: string }; daemon?: DaemonStatusSummary };

export interface StatusCommandOptions {
  /** The keys status reads, loaded without the schema (start-up time). */
  config: PeekedConfig;
  /** The whole validated config, for recovering a session whose echolog died. */
  loadConfig: () => Promise<EchologConfig>;
  json: boolean;
}

/**
 * `status` from its command line: the program's action and src/index.ts's early answer (before commander
 * loads) both run this. Only the keys status reads are peeked; the whole config (zod) loads only to recover
 * a session whose echolog died.
 */
export async function runStatus(args: StatusArgs, surroundings: Surroundings): Promise<number> {
  const given = args.recordingsDir !== undefined;
  const options = {
    configPath: args.configPath,
    flags: given ? { recordings_dir: args.recordingsDir } : {},
    cwd: surroundings.cwd,
    env: surroundings.env,
    home: surroundings.home,
    warn: (message: string) => surroundings.stderr.write(`echolog: warning: ${message}\n`),
  };
  const config = await peekConfig(options);
  const loadConfig = async (): Promise<EchologConfig> => {
    const { loadEffectiveConfig } = await import('../config/effective-config.js');
    return (await loadEffectiveConfig({ ...options, flagNames: given ? { recordings_dir: '--recordings-dir' } : {} })).config;
  };
  return statusCommand({ config, loadConfig, json: args.json }, surroundings);
}

export async function statusCommand(options: StatusCommandOptions, surroundings: Surroundings): Promise<number> {
  const { config } = options;
  const recordingsDir = resolveUserPath(config.recordings_dir.value, surroundings);
  const report = await sessionStatus(recordingsDir, options.loadConfig, surroundings.stderr, surroundings.now());
  const configured = configuredFfmpeg(config['ffmpeg.path'].value, config['ffmpeg.path'].source);
  const ffmpeg = await locateConfiguredFfmpeg(configured, surroundings.env).catch((error: unknown) => {
    // Status still answers without ffmpeg; `record` is the one that must refuse.
    if (error instanceof EchologError) return { error: error.message };
    throw error;
  });
  const daemon = await daemonStatusFor(config['transcription.daemon_ipc_root'].value, {
    env: surroundings.env,
    home: surroundings.home,
    cwd: surroundings.cwd,
    nowMs: surroundings.now().getTime(),
  });
  const output: StatusOutput = { ...report, ffmpeg, daemon: daemon.report };
  surroundings.stdout.write(options.json ? formatJson(statusJson(output)) : `${formatStatus(output)}${daemon.line}\n`);
  return 0;
}

/** `status --json`: the sessions' levels as numbers. */
function statusJson(output: StatusOutput): unknown {
  return { ...output, active: output.active && manifestJson(output.active), last: output.last && manifestJson(output.last) };
}

export function formatStatus(report: StatusOutput): string {
  const ffmpeg = 'error' in report.ffmpeg ? `ffmpeg: ${report.ffmpeg.error}` : `ffmpeg: ${report.ffmpeg.path} (${report.ffmpeg.source})`;
  if (report.active) {
    const a = report.active;
    return [
      `recording: ${a.session_id}`,
      `pid: ${a.pid}`,
      `started: ${a.started_at}`,
      `elapsed: ${formatElapsed(a.elapsed_seconds * 1000)}`,
      `chunks: ${a.stats.chunks}`,
      ...(a.capture ? formatCaptureStatus(a.capture) : []),
      ...(a.transcription ? [formatTranscriptionStatus(a.transcription)] : []),
      `log: ${a.log_path}`,
      ffmpeg,
      '',
    ].join('\n');
  }
  if (!report.last) return `not recording; no sessions in ${report.recordings_dir}\n${ffmpeg}\n`;
  const l = report.last;
  return [
    `not recording`,
    `last session: ${l.session_id} (${describeOutcome(l)})`,
    `started: ${l.started_at}`,
    `ended: ${l.ended_at ?? '(not recorded)'}`,
    `chunks: ${l.stats?.chunks ?? 0} (${formatElapsed((l.stats?.audio_duration_seconds ?? 0) * 1000)} of audio)`,
    `log: ${l.log_path}`,
    ffmpeg,
    '',
  ].join('\n');
}

/** `capture: stalled since … (no new chunk …)` or `capture: running, 1 restart`, and `level: -23.1 dBFS (last chunk)`. */
export function formatCaptureStatus(c: CaptureStatus): string[] {
  const restarts = c.restarts > 0 ? `, ${plural(c.restarts, 'restart')}` : '';
  const state = c.stalled_since
    ? `stalled since ${c.stalled_since} (no new chunk; ffmpeg is restarted if it goes on)${restarts}`
    : `running${restarts}`;
  return [`capture: ${state}`, ...(c.last_level_db !== null ? [`level: ${c.last_level_db} dBFS (last chunk)`] : [])];
}

/** `completed, duration`; the reason only once when it repeats the status (`interrupted`). */
export function describeOutcome(manifest: Pick<SessionManifest, 'status' | 'stop_reason'>): string {
  const { status, stop_reason: reason } = manifest;
  return reason && reason !== status ? `${status}, ${reason}` : status;
}

/** `transcription: pocketsphinx, 2 chunks pending (lag 4.0 s), 0.45× real time, 12 utterances` */
export function formatTranscriptionStatus(t: NonNullable<StatusReport['last']>['transcription'] & object): string {
  if (t.state === 'unavailable') return `transcription: ${t.engine} unavailable (run echolog transcribe after the session)`;
  const speed =
    t.realtime_factor === null ? '' : `, ${t.realtime_factor.toFixed(2)}× real time${t.realtime_factor > 1 ? ' (falling behind)' : ''}`;
  const pending = `${plural(t.pending_chunks, 'chunk')} pending (lag ${t.lag_seconds.toFixed(1)} s)`;
  return `transcription: ${t.engine}, ${pending}${speed}, ${plural(t.utterance_count, 'utterance')}`;
}

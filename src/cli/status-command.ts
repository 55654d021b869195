import type { ResolvedConfig } from '../config/resolve-config.js';
import { expandHome } from '../sessions/recordings-dir.js';
import { sessionStatus, type StatusReport } from '../sessions/session-catalog.js';
import { daemonStatusFor } from '../daemon/daemon-report.js';
import { formatElapsed } from './progress.js';
import type { Surroundings } from './surroundings.js';
import path from 'node:path';

export async function statusCommand(options: { resolved: ResolvedConfig; json: boolean }, surroundings: Surroundings): Promise<number> {
  const recordingsDir = path.resolve(surroundings.cwd, expandHome(options.resolved.config.recordings_dir, surroundings.home));
  const report = await sessionStatus(recordingsDir, options.resolved.config, surroundings.stderr, surroundings.now());
  const daemon = await daemonStatusFor(options.resolved.config, { env: surroundings.env, home: surroundings.home, cwd: surroundings.cwd, nowMs: surroundings.now().getTime() });
  surroundings.stdout.write(options.json ? `${JSON.stringify({ ...report, daemon: daemon.report }, null, 2)}\n` : `${formatStatus(report)}${daemon.line}\n`);
  return 0;
}

export function formatStatus(report: StatusReport): string {
  if (report.active) {
    const a = report.active;
    return [
      `recording: ${a.session_id}`,
      `pid: ${a.pid}`,
      `started: ${a.started_at}`,
      `elapsed: ${formatElapsed(a.elapsed_seconds * 1000)}`,
      `chunks: ${a.stats.chunks}`,
      ...(a.transcription ? [formatTranscriptionStatus(a.transcription)] : []),
      `log: ${a.log_path}`,
      '',
    ].join('\n');
  }
  if (!report.last) return `not recording; no sessions in ${report.recordingsDir}\n`;
  const l = report.last;
  return [`not recording`, `last session: ${l.session_id} (${l.status}${l.stop_reason ? `, ${l.stop_reason}` : ''})`, `log: ${l.log_path}`, ''].join('\n');
}

/** `transcription: pocketsphinx, 2 chunks pending (lag 4.0 s), 0.45× real time, 12 utterances` */
export function formatTranscriptionStatus(t: NonNullable<StatusReport['last']>['transcription'] & object): string {
  if (t.state === 'unavailable') return `transcription: ${t.engine} unavailable (run echolog transcribe after the session)`;
  const speed = t.realtime_factor === null ? '' : `, ${t.realtime_factor.toFixed(2)}× real time${t.realtime_factor > 1 ? ' (falling behind)' : ''}`;
  return `transcription: ${t.engine}, ${t.pending_chunks} chunk${t.pending_chunks === 1 ? '' : 's'} pending (lag ${t.lag_seconds.toFixed(1)} s)${speed}, ${t.utterance_count} utterances`;
}

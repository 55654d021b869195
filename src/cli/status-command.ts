import type { ResolvedConfig } from '../config/resolve-config.js';
import { expandHome } from '../sessions/recordings-dir.js';
import { sessionStatus, type StatusReport } from '../sessions/session-catalog.js';
import { formatElapsed } from './progress.js';
import type { Surroundings } from './surroundings.js';
import path from 'node:path';

export async function statusCommand(options: { resolved: ResolvedConfig; json: boolean }, surroundings: Surroundings): Promise<number> {
  const recordingsDir = path.resolve(surroundings.cwd, expandHome(options.resolved.config.recordings_dir, surroundings.home));
  const report = await sessionStatus(recordingsDir, options.resolved.config, surroundings.stderr, surroundings.now());
  surroundings.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
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
      `log: ${a.log_path}`,
      '',
    ].join('\n');
  }
  if (!report.last) return `not recording; no sessions in ${report.recordingsDir}\n`;
  const l = report.last;
  return [`not recording`, `last session: ${l.session_id} (${l.status}${l.stop_reason ? `, ${l.stop_reason}` : ''})`, `log: ${l.log_path}`, ''].join('\n');
}

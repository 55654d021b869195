import type { SessionManifest } from '../store/session-manifest.js';
import type { Continuity } from '../sessions/session-continuity.js';
import type { SessionChain, SessionPage } from '../sessions/session-query.js';
import { formatJson, manifestJson } from './json-output.js';

/** What `echolog sessions` prints, as pure functions of what the commands return. */

/**
 * `01:02:03`, as the progress line shows elapsed time. Not imported from progress.ts: that module
 * loads the spinner library, which would add more start-up to `sessions list` than the listing.
 */
export function formatClock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

/** `1.2 MB` (powers of 1000, as `ls -h --si` and file managers show). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `2026-11-22 03:25:02Z`: UTC, like every time echolog writes. */
export function formatStarted(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time)
    ? iso
    : new Date(time)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z');
}

export function formatListTable(page: SessionPage): string {
  if (page.total === 0) return 'no sessions\n';
  const header = ['ID', 'STATUS', 'STARTED', 'DURATION', 'CHUNKS', 'WORDS', 'SIZE'];
  const rows = page.sessions.map((s) => [
    s.id,
    s.status,
    formatStarted(s.started_at),
    formatClock(s.audio_duration_seconds),
    String(s.chunks),
    String(s.word_count),
    formatBytes(s.bytes_on_disk),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Numbers right-aligned, text left-aligned; no trailing spaces.
  const numeric = new Set([3, 4, 5, 6]);
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const shown = page.sessions.length === 0 ? 'none' : `${page.offset + 1}-${page.offset + page.sessions.length}`;
  const next = page.offset + page.sessions.length;
  return `${[line(header), ...rows.map(line)].join('\n')}\n(${shown} of ${page.total}${next < page.total ? `; more with --offset ${next}` : ''})\n`;
}

/** Seed 003's list response: `{sessions: [...], pagination: {...}}`. */
export function formatListJson(page: SessionPage): string {
  return formatJson({
    sessions: page.sessions,
    pagination: { total: page.total, limit: page.limit, offset: page.offset, returned: page.sessions.length },
  });
}

export interface SessionDetails {
  id: string;
  dir: string;
  /** True while this session holds the recording lock. */
  active: boolean;
  manifest: SessionManifest;
  bytes_on_disk: number;
  paths: { log: string[]; transcript: string[]; chunks: string[] };
  continuity: Continuity;
  /** The last WARNING/ERROR lines of the log, as written. */
  problems: string[];
  chain: SessionChain;
}

export function formatChain(chain: SessionChain, id: string): string {
  const ids = chain.ids.map((each) => (each === id ? `[${each}]` : each));
  const before = chain.missingParent ? `${chain.missingParent} (deleted) → ` : '';
  const after = chain.fork ? ` → fork: ${chain.fork.children.join(' | ')}` : '';
  return `${before}${ids.join(' → ')}${after}`;
}

export function formatContinuity(c: Continuity): string[] {
  const lines = [`${c.listed} finished chunk${c.listed === 1 ? '' : 's'}`];
  if (c.missing.length > 0) lines.push(`missing chunk numbers: ${c.missing.join(', ')}`);
  for (const gap of c.gaps) lines.push(`gap of ${gap.seconds} s between ${gap.after} and ${gap.before}`);
  if (c.unfinished.length > 0) lines.push(`unfinished (not in segments.csv): ${c.unfinished.join(', ')}`);
  if (c.broken.length > 0) lines.push(`incomplete or unreadable: ${c.broken.join(', ')}`);
  if (c.restarts > 0) lines.push(`ffmpeg restarts: ${c.restarts}`);
  if (lines.length === 1) lines[0] += ', continuous (no gaps, no restarts)';
  return lines;
}

export function formatShow(d: SessionDetails): string {
  const m = d.manifest;
  const s = m.stats;
  const field = (name: string, value: string | number | null | undefined): string => `${`${name}:`.padEnd(16)}${value ?? '—'}`;
  const list = (items: string[]): string[] => (items.length === 0 ? ['  (none)'] : items.map((item) => `  ${item}`));
  return [
    field('session', d.id),
    field('status', `${m.status}${d.active ? ' (recording now)' : ''}${m.stop_reason ? `, ${m.stop_reason}` : ''}`),
    field('started', formatStarted(m.started_at)),
    field('ended', m.ended_at ? formatStarted(m.ended_at) : null),
    field('audio', `${formatClock(s.audio_duration_seconds)} (${s.audio_duration_seconds} s)`),
    field('chunks', s.chunks),
    field('utterances', s.utterance_count),
    field('words', s.word_count),
    field('size', `${formatBytes(d.bytes_on_disk)} (${d.bytes_on_disk} B)`),
    field('engine', m.engine ? `${m.engine}${m.model ? ` (${m.model})` : ''}` : null),
    field('language', m.language),
    field('input', `${m.input_format || 'file'} ${m.device}`),
    field('audio format', `${m.sample_rate} Hz, ${m.channels} ch, ${m.segment_time} s chunks`),
    ...(m.error ? [field('error', m.error)] : []),
    field('resumed from', m.resumed_from),
    field('resume chain', formatChain(d.chain, d.id)),
    field('folder', d.dir),
    'log:',
    ...list(d.paths.log),
    'transcript:',
    ...list(d.paths.transcript),
    `chunks: ${d.paths.chunks.length} files in ${d.dir}`,
    ...list(d.paths.chunks.length > 4 ? [d.paths.chunks[0]!, '…', d.paths.chunks.at(-1)!] : d.paths.chunks),
    'continuity:',
    ...list(formatContinuity(d.continuity)),
    `last warnings and errors (${d.problems.length}):`,
    ...list(d.problems),
    '',
  ].join('\n');
}

export function formatShowJson(d: SessionDetails): string {
  // The session API's name for the id (session_id, as in session.json) once, not `id` beside it.
  const { manifest, id: _id, ...rest } = d;
  return formatJson({ ...manifestJson(manifest), ...rest });
}

export function formatDeleteQuestion(targets: ReadonlyArray<{ id: string; bytes: number }>): string {
  const bytes = targets.reduce((sum, t) => sum + t.bytes, 0);
  const names =
    targets.length <= 5
      ? targets.map((t) => t.id).join(', ')
      : `${targets
          .slice(0, 5)
          .map((t) => t.id)
          .join(', ')} and ${targets.length - 5} more`;
  return `Delete ${targets.length} session${targets.length === 1 ? '' : 's'} (${names}; ${formatBytes(bytes)})? [y/N] `;
}

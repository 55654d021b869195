import type { SessionManifest, SessionStatus } from './session-manifest.js';
import { isValidSessionId } from './session-id.js';

/**
 * What `sessions list` shows and filters on: seed 003's list fields, from a session.json. Also
 * what the index file (session-index.ts) caches per folder, so it is validated when read back.
 */
export interface SessionSummary {
  id: string;
  status: SessionStatus;
  started_at: string;
  ended_at: string | null;
  stop_reason: string | null;
  audio_duration_seconds: number;
  chunks: number;
  utterance_count: number;
  word_count: number;
  bytes_on_disk: number | null;
  engine: string | null;
  model: string | null;
  language: string | null;
  resumed_from: string | null;
}

const STATUSES: readonly SessionStatus[] = ['recording', 'completed', 'error', 'interrupted'];

/** `id` is the folder's name: the name a session is found and deleted by. Pure. */
export function summarize(id: string, manifest: SessionManifest): SessionSummary {
  const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0);
  const text = (s: unknown): string | null => (typeof s === 'string' ? s : null);
  const stats = manifest.stats;
  return {
    id,
    status: manifest.status,
    started_at: manifest.started_at,
    ended_at: text(manifest.ended_at),
    stop_reason: text(manifest.stop_reason),
    audio_duration_seconds: count(stats.audio_duration_seconds),
    chunks: count(stats.chunks),
    utterance_count: count(stats.utterance_count),
    word_count: count(stats.word_count),
    bytes_on_disk: typeof stats.bytes_on_disk === 'number' ? count(stats.bytes_on_disk) : null,
    engine: text(manifest.engine),
    model: text(manifest.model),
    language: text(manifest.language),
    resumed_from: isValidSessionId(manifest.resumed_from) ? manifest.resumed_from : null,
  };
}

/** A summary read back from the index file (untrusted), or undefined if it is not one. Pure. */
export function parseSummary(value: unknown): SessionSummary | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Record<string, unknown>;
  const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const isText = (t: unknown): boolean => t === null || typeof t === 'string';
  const ok =
    isValidSessionId(s.id) &&
    STATUSES.includes(s.status as SessionStatus) &&
    typeof s.started_at === 'string' &&
    !Number.isNaN(Date.parse(s.started_at)) &&
    ['audio_duration_seconds', 'chunks', 'utterance_count', 'word_count'].every((key) => isCount(s[key])) &&
    (s.bytes_on_disk === null || isCount(s.bytes_on_disk)) &&
    ['ended_at', 'stop_reason', 'engine', 'model', 'language'].every((key) => isText(s[key])) &&
    (s.resumed_from === null || isValidSessionId(s.resumed_from));
  return ok ? (s as unknown as SessionSummary) : undefined;
}

export interface SessionQuery {
  status?: SessionStatus;
  /** Started at or after. */
  since?: Date;
  /** Started before. */
  until?: Date;
  limit: number;
  offset: number;
}

export interface SessionPage {
  sessions: SessionSummary[];
  /** Sessions matching the filters, before paging. */
  total: number;
  limit: number;
  offset: number;
}

/** Newest first by started_at (then by id, so a page never reorders), filtered, one page. Pure. */
export function querySessions(summaries: readonly SessionSummary[], query: SessionQuery): SessionPage {
  const matching = summaries.filter((s) => {
    const started = Date.parse(s.started_at);
    if (query.status !== undefined && s.status !== query.status) return false;
    if (query.since !== undefined && started < query.since.getTime()) return false;
    return !(query.until !== undefined && started >= query.until.getTime());
  });
  const sorted = sortNewestFirst(matching);
  return { sessions: sorted.slice(query.offset, query.offset + query.limit), total: sorted.length, limit: query.limit, offset: query.offset };
}

export function sortNewestFirst(summaries: readonly SessionSummary[]): SessionSummary[] {
  const keyed = summaries.map((s) => ({ s, t: Date.parse(s.started_at) }));
  keyed.sort((a, b) => b.t - a.t || (a.s.id < b.s.id ? 1 : a.s.id > b.s.id ? -1 : 0));
  return keyed.map(({ s }) => s);
}

/** Seed 003 calls a recording session `active`; echolog's session.json says `recording`. Both are accepted. */
export const STATUS_ALIASES: Readonly<Record<string, SessionStatus>> = {
  active: 'recording',
  recording: 'recording',
  completed: 'completed',
  error: 'error',
  interrupted: 'interrupted',
};

export interface SessionChain {
  /** Oldest first; includes the session asked for. */
  ids: string[];
  /** The oldest session's resumed_from when that session is gone (deleted). */
  missingParent?: string;
  /** Where the chain forks: a session resumed more than once, and by which. */
  fork?: { id: string; children: string[] };
}

/**
 * The resume chain through `id`: its ancestors by resumed_from, then the sessions that resumed
 * it, one after the other, until a session was resumed by none or by several (a fork). Links
 * read from disk may loop: a session is visited once. Pure.
 */
export function resolveChain(summaries: readonly SessionSummary[], id: string): SessionChain {
  const byId = new Map(summaries.map((s) => [s.id, s]));
  const children = new Map<string, string[]>();
  for (const s of sortNewestFirst(summaries).reverse()) {
    if (s.resumed_from !== null) children.set(s.resumed_from, [...(children.get(s.resumed_from) ?? []), s.id]);
  }
  const seen = new Set([id]);
  const ids = [id];
  const chain: SessionChain = { ids };
  for (let parent = byId.get(id)?.resumed_from; parent !== null && parent !== undefined && !seen.has(parent); parent = byId.get(parent)?.resumed_from) {
    if (!byId.has(parent)) {
      chain.missingParent = parent;
      break;
    }
    seen.add(parent);
    ids.unshift(parent);
  }
  for (let current = id; ; ) {
    const next = (children.get(current) ?? []).filter((child) => !seen.has(child));
    if (next.length > 1) chain.fork = { id: current, children: next };
    if (next.length !== 1) break;
    current = next[0]!;
    seen.add(current);
    ids.push(current);
  }
  return chain;
}

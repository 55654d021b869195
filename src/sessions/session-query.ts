import type { SessionManifest, SessionStatus } from '../store/session-manifest.js';
import { isValidSessionId } from '../store/session-id.js';

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

/** What sessions are ordered and linked by: when each started (ms since the epoch) and which one it resumes. */
export interface SessionKey {
  id: string;
  started_ms: number;
  resumed_from: string | null;
}

/** The sessions started within the query's time bounds, newest first (then by id, so a page never reorders). Pure. */
export function selectByTime<T extends Pick<SessionKey, 'id' | 'started_ms'>>(
  sessions: readonly T[],
  query: Pick<SessionQuery, 'since' | 'until'>,
): T[] {
  const since = query.since?.getTime() ?? -Infinity;
  const until = query.until?.getTime() ?? Infinity;
  const within = sessions.filter((s) => s.started_ms >= since && s.started_ms < until);
  return within.sort((a, b) => b.started_ms - a.started_ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * One page of `ordered` (newest first, within the time bounds). Without a status filter only the
 * page's sessions are read; a status filter needs every session's status, so all are read.
 * `read` returns undefined for a session that is gone or unreadable: it is left out.
 */
export async function pageSessions(
  ordered: readonly Pick<SessionSummary, 'id'>[],
  query: SessionQuery,
  read: (id: string) => Promise<SessionSummary | undefined>,
): Promise<SessionPage> {
  const readAll = async (items: readonly Pick<SessionSummary, 'id'>[]): Promise<SessionSummary[]> =>
    (await Promise.all(items.map((item) => read(item.id)))).filter((s): s is SessionSummary => s !== undefined);
  if (query.status === undefined) {
    return {
      sessions: await readAll(ordered.slice(query.offset, query.offset + query.limit)),
      total: ordered.length,
      limit: query.limit,
      offset: query.offset,
    };
  }
  const matching = (await readAll(ordered)).filter((s) => s.status === query.status);
  return {
    sessions: matching.slice(query.offset, query.offset + query.limit),
    total: matching.length,
    limit: query.limit,
    offset: query.offset,
  };
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
export function resolveChain(summaries: readonly SessionKey[], id: string): SessionChain {
  const byId = new Map(summaries.map((s) => [s.id, s]));
  const children = new Map<string, string[]>();
  for (const s of selectByTime(summaries, {}).reverse()) {
    if (s.resumed_from !== null) children.set(s.resumed_from, [...(children.get(s.resumed_from) ?? []), s.id]);
  }
  const seen = new Set([id]);
  const ids = [id];
  const chain: SessionChain = { ids };
  for (
    let parent = byId.get(id)?.resumed_from;
    parent !== null && parent !== undefined && !seen.has(parent);
    parent = byId.get(parent)?.resumed_from
  ) {
    if (!byId.has(parent)) {
      chain.missingParent = parent;
      break;
    }
    seen.add(parent);
    ids.unshift(parent);
  }
  for (let current = id; ;) {
    const next = (children.get(current) ?? []).filter((child) => !seen.has(child));
    if (next.length > 1) chain.fork = { id: current, children: next };
    if (next.length !== 1) break;
    current = next[0]!;
    seen.add(current);
    ids.push(current);
  }
  return chain;
}

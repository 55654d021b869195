import fs from 'node:fs';
import path from 'node:path';
import { readJson, writeJsonDurable } from '../files/durable-write.js';
import { loadManifest } from './manifest-rebuild.js';
import { recordingsDirError } from './recordings-dir.js';
import { isValidSessionId } from './session-id.js';
import { manifestPath } from './session-manifest.js';
import { parseSummary, summarize, type SessionSummary } from './session-query.js';

/**
 * `<recordings_dir>/.sessions-index.json`: a cache of each session folder's summary, so listing
 * 10,000 sessions reads one file instead of 10,000. It can never disagree with the folders: the
 * folder listing decides which sessions exist, and an entry is used only while its session.json
 * has the same inode, size, mtime and ctime (nanoseconds) as when it was cached — any write of
 * session.json (a rename onto it or an edit in place) changes them. Like git's index, an entry
 * whose session.json changed less than RACY_MS before it was cached is not cached (timestamps
 * are coarser than the writes), nor is a session still recording.
 */
export const INDEX_NAME = '.sessions-index.json';
const INDEX_VERSION = 1;
const RACY_MS = 2000;

interface IndexEntry {
  key: string;
  summary: SessionSummary;
}

export interface LoadSummariesOptions {
  now: Date;
  /** Told about a session.json that is unreadable (and rebuilt, or skipped). */
  warn: (message: string) => void;
}

/** Every session folder directly inside the recordings dir, summarized (unordered). */
export async function loadSummaries(recordingsDir: string, options: LoadSummariesOptions): Promise<SessionSummary[]> {
  const names = sessionFolderNames(recordingsDir);
  const cached = await readIndex(recordingsDir);
  const next: Record<string, IndexEntry> = {};
  const summaries: SessionSummary[] = [];
  let changed = Object.keys(cached).length !== 0 && names.length === 0;
  for (const name of names) {
    const stat = fs.statSync(manifestPath(path.join(recordingsDir, name)), { bigint: true, throwIfNoEntry: false });
    // No session.json: not a session (or one whose folder is being created).
    if (!stat?.isFile()) continue;
    const key = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
    const hit = cached[name];
    if (hit?.key === key) {
      summaries.push(hit.summary);
      next[name] = hit;
      continue;
    }
    changed = true;
    const summary = await readSummary(recordingsDir, name, options.warn);
    if (!summary) continue;
    summaries.push(summary.summary);
    const settled = options.now.getTime() - Number(stat.ctimeNs / 1_000_000n) > RACY_MS;
    if (!summary.rebuilt && settled && summary.summary.status !== 'recording') next[name] = { key, summary: summary.summary };
  }
  if (changed || Object.keys(next).length !== Object.keys(cached).length) {
    // A cache: a read-only or full recordings dir only makes the next listing slower.
    await writeJsonDurable(path.join(recordingsDir, INDEX_NAME), { version: INDEX_VERSION, entries: next }).catch(() => undefined);
  }
  return summaries;
}

/** Names of the real folders (not symlinks) directly inside the recordings dir that can be session ids. */
export function sessionFolderNames(recordingsDir: string): string[] {
  try {
    return fs
      .readdirSync(recordingsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isValidSessionId(entry.name))
      .map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw recordingsDirError(recordingsDir, error);
  }
}

async function readSummary(recordingsDir: string, name: string, warn: (message: string) => void): Promise<{ summary: SessionSummary; rebuilt: boolean } | undefined> {
  try {
    const loaded = await loadManifest(path.join(recordingsDir, name));
    if (!loaded) return undefined;
    if (loaded.rebuilt) warn(loaded.rebuilt);
    return { summary: summarize(name, loaded.manifest), rebuilt: loaded.rebuilt !== undefined };
  } catch (error) {
    // One unreadable session must not hide the others.
    warn(`skipped session ${name}: ${(error as Error).message}`);
    return undefined;
  }
}

/** The index's entries; anything that is not a valid index (garbage, an old version) is an empty one. */
async function readIndex(recordingsDir: string): Promise<Record<string, IndexEntry>> {
  let value: unknown;
  try {
    value = await readJson(path.join(recordingsDir, INDEX_NAME));
  } catch {
    return {};
  }
  const index = value as { version?: unknown; entries?: unknown } | undefined;
  if (index?.version !== INDEX_VERSION || typeof index.entries !== 'object' || index.entries === null) return {};
  const entries: Record<string, IndexEntry> = {};
  for (const [name, raw] of Object.entries(index.entries as Record<string, unknown>)) {
    const entry = raw as Partial<IndexEntry> | null;
    const summary = parseSummary(entry?.summary);
    if (typeof entry?.key === 'string' && summary?.id === name) entries[name] = { key: entry.key, summary };
  }
  return entries;
}

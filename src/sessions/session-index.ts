import fs from 'node:fs';
import path from 'node:path';
import { readJson, writeFileDurable } from '../files/durable-write.js';
import { recordingsDirError } from './recordings-dir.js';
import { isValidSessionId } from './session-id.js';
import { readManifestOrProblem, type SessionManifest } from './session-manifest.js';

/**
 * Which sessions exist, when each started and which one it resumes: the facts `sessions list`
 * sorts, filters and pages by. Both are fixed when a session is created, so they can be cached
 * per folder; everything that changes (status, stats) is read from the page's own session.json.
 *
 * The cache, `<recordings_dir>/.sessions-index/index.json`, can never disagree with the folders:
 * - it records the recordings dir's inode and mtime (ns) as they were when it read the folder
 *   listing. Creating, deleting or renaming a session folder changes that mtime, so while it is
 *   unchanged the listing is too, and no folder needs a look. (The cache lives in a sub-folder so
 *   that writing it does not change the recordings dir.)
 * - when it changed, the listing is read again, and a cached folder is reused only if its inode
 *   and birth time are the ones cached: a folder deleted and made again under the same name is read.
 * - like git's index, a listing that changed less than RACY_MS before it was read is not trusted
 *   next time (timestamps are coarser than the changes), and a folder whose session.json is
 *   missing or unreadable is not cached at all: it is read on every listing until it is whole.
 */
export const INDEX_DIR = '.sessions-index';
const INDEX_FILE = 'index.json';
const INDEX_VERSION = 1;
const RACY_MS = 2000;

export interface IndexedSession {
  id: string;
  started_at: string;
  resumed_from: string | null;
}

interface IndexEntry extends IndexedSession {
  /** The folder's `<inode>:<birth time ns>`. */
  folder: string;
}

/** An entry as stored: keyed by folder name, so without its id (10,000 of them parse in a few ms). */
type StoredEntry = Omit<IndexEntry, 'id'>;

interface IndexFile {
  version: number;
  /** The recordings dir's `<inode>:<mtime ns>` when its listing was read; null when that was too recent to trust. */
  listing: string | null;
  entries: Record<string, IndexEntry>;
  /** Folders without a readable session.json: looked at again on every listing. */
  unsettled: string[];
}

export interface IndexSessionsOptions {
  now: Date;
  /** Reads a session.json that is unreadable some other way (rebuilt from the folder), or says why not. */
  fallback: (dir: string) => Promise<SessionManifest | undefined>;
}

/** Every session directly inside the recordings dir (unordered). */
export async function indexSessions(recordingsDir: string, options: IndexSessionsOptions): Promise<IndexedSession[]> {
  const dirStat = statOrUndefined(recordingsDir);
  if (!dirStat) return [];
  const listing = `${dirStat.ino}:${dirStat.mtimeNs}`;
  const cached = await readIndex(recordingsDir);
  if (cached?.listing === listing) {
    const unsettled = await readFolders(recordingsDir, cached.unsettled, options);
    return [...Object.values(cached.entries), ...unsettled.sessions];
  }
  const names = sessionFolderNames(recordingsDir);
  const entries: Record<string, IndexEntry> = {};
  const unknown: string[] = [];
  for (const name of names) {
    const folder = folderKey(path.join(recordingsDir, name));
    const hit = cached?.entries[name];
    if (folder !== undefined && hit?.folder === folder) entries[name] = hit;
    else unknown.push(name);
  }
  const read = await readFolders(recordingsDir, unknown, options);
  for (const entry of read.entries) entries[entry.id] = entry;
  const settled = options.now.getTime() - Number(dirStat.mtimeNs / 1_000_000n) > RACY_MS;
  const next: IndexFile = { version: INDEX_VERSION, listing: settled ? listing : null, entries, unsettled: read.unsettled };
  // A cache: a read-only or full recordings dir only makes the next listing slower.
  await writeIndex(recordingsDir, next).catch(() => undefined);
  return [...Object.values(entries), ...read.sessions.filter((s) => !(s.id in entries))];
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

function statOrUndefined(file: string): fs.BigIntStats | undefined {
  try {
    return fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    throw recordingsDirError(file, error);
  }
}

function folderKey(dir: string): string | undefined {
  const stat = fs.lstatSync(dir, { bigint: true, throwIfNoEntry: false });
  return stat?.isDirectory() ? `${stat.ino}:${stat.birthtimeNs}` : undefined;
}

/** The sessions of these folders; `entries` are those that may be cached, `unsettled` the folders to look at again. */
async function readFolders(
  recordingsDir: string,
  names: readonly string[],
  options: IndexSessionsOptions,
): Promise<{ sessions: IndexedSession[]; entries: IndexEntry[]; unsettled: string[] }> {
  const sessions: IndexedSession[] = [];
  const entries: IndexEntry[] = [];
  const unsettled: string[] = [];
  for (const name of names) {
    const dir = path.join(recordingsDir, name);
    const folder = folderKey(dir);
    if (folder === undefined) continue;
    const read = await readManifestOrProblem(dir).catch((error: Error) => error.message);
    const manifest = typeof read === 'object' ? read : await options.fallback(dir);
    if (manifest === undefined) {
      unsettled.push(name);
      continue;
    }
    const session = { id: name, started_at: manifest.started_at, resumed_from: manifest.resumed_from ?? null };
    sessions.push(session);
    if (typeof read === 'object') entries.push({ ...session, folder });
    else unsettled.push(name);
  }
  return { sessions, entries, unsettled };
}

async function readIndex(recordingsDir: string): Promise<IndexFile | undefined> {
  const value = await readJson<Omit<Partial<IndexFile>, 'entries'> & { entries?: unknown }>(path.join(recordingsDir, INDEX_DIR, INDEX_FILE)).catch(() => undefined);
  if (value?.version !== INDEX_VERSION || typeof value.entries !== 'object' || value.entries === null || !Array.isArray(value.unsettled)) return undefined;
  // Read from disk, so untrusted: ids become paths.
  const entries: Record<string, IndexEntry> = {};
  for (const [name, raw] of Object.entries(value.entries)) {
    const e = raw as Partial<StoredEntry> | null;
    const valid =
      isValidSessionId(name) &&
      typeof e === 'object' &&
      e !== null &&
      typeof e.folder === 'string' &&
      typeof e.started_at === 'string' &&
      !Number.isNaN(Date.parse(e.started_at)) &&
      (e.resumed_from === null || isValidSessionId(e.resumed_from));
    if (!valid) return undefined;
    entries[name] = { id: name, started_at: e.started_at!, resumed_from: e.resumed_from ?? null, folder: e.folder! };
  }
  const unsettled = value.unsettled.filter((name): name is string => isValidSessionId(name));
  return { version: INDEX_VERSION, listing: typeof value.listing === 'string' ? value.listing : null, entries, unsettled };
}

async function writeIndex(recordingsDir: string, index: IndexFile): Promise<void> {
  const dir = path.join(recordingsDir, INDEX_DIR);
  // Made once; after that, writing the index changes only this folder's mtime.
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 });
  const entries = Object.fromEntries(Object.entries(index.entries).map(([name, { id: _id, ...stored }]) => [name, stored satisfies StoredEntry]));
  await writeFileDurable(path.join(dir, INDEX_FILE), JSON.stringify({ ...index, entries }));
}

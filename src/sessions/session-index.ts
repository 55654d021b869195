import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurable } from '../files/durable-write.js';
import { recordingsDirError } from '../store/recordings-dir.js';
import { isValidSessionId } from '../store/session-id.js';
import { readManifestOrProblem, type SessionManifest } from '../store/session-manifest.js';
import type { SessionKey } from './session-query.js';

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
const RACY_MS = 2000;
const READ_BATCH = 32;

export interface IndexEntry extends SessionKey {
  /** The folder's `<inode>:<birth time ns>`. */
  folder: string;
}

export interface IndexFile {
  /** The recordings dir's `<inode>:<mtime ns>` when its listing was read; null when that was too recent to trust. */
  listing: string | null;
  entries: Map<string, IndexEntry>;
  /** Folders without a readable session.json: looked at again on every listing. */
  unsettled: string[];
}

export interface IndexSessionsOptions {
  now: Date;
  /** Reads a session.json that is unreadable some other way (rebuilt from the folder), or says why not. */
  fallback: (dir: string) => Promise<SessionManifest | undefined>;
}

/** Every session directly inside the recordings dir (unordered). */
export async function indexSessions(recordingsDir: string, options: IndexSessionsOptions): Promise<SessionKey[]> {
  const dirStat = statOrUndefined(recordingsDir);
  if (!dirStat) return [];
  const listing = `${dirStat.ino}:${dirStat.mtimeNs}`;
  const cached = readIndex(recordingsDir);
  if (cached?.listing === listing) {
    const unsettled = await readFolders(recordingsDir, cached.unsettled, options);
    return [...cached.entries.values(), ...unsettled.sessions];
  }
  const names = sessionFolderNames(recordingsDir);
  const entries = new Map<string, IndexEntry>();
  const unknown: string[] = [];
  for (const name of names) {
    const folder = folderKey(path.join(recordingsDir, name));
    const hit = cached?.entries.get(name);
    if (folder !== undefined && hit?.folder === folder) entries.set(name, hit);
    else unknown.push(name);
  }
  const read = await readFolders(recordingsDir, unknown, options);
  for (const entry of read.entries) entries.set(entry.id, entry);
  const settled = options.now.getTime() - Number(dirStat.mtimeNs / 1_000_000n) > RACY_MS;
  const next: IndexFile = { listing: settled ? listing : null, entries, unsettled: read.unsettled };
  // A cache: a read-only or full recordings dir only makes the next listing slower.
  await writeIndex(recordingsDir, next).catch(() => undefined);
  return [...entries.values(), ...read.sessions.filter((s) => !entries.has(s.id))];
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
): Promise<{ sessions: SessionKey[]; entries: IndexEntry[]; unsettled: string[] }> {
  const sessions: SessionKey[] = [];
  const entries: IndexEntry[] = [];
  const unsettled: string[] = [];
  const readOne = async (name: string): Promise<void> => {
    const dir = path.join(recordingsDir, name);
    const folder = folderKey(dir);
    if (folder === undefined) return;
    const read = await readManifestOrProblem(dir).catch((error: Error) => error.message);
    const manifest = typeof read === 'object' ? read : await options.fallback(dir);
    if (manifest === undefined) {
      unsettled.push(name);
      return;
    }
    const session = { id: name, started_ms: Date.parse(manifest.started_at), resumed_from: manifest.resumed_from ?? null };
    sessions.push(session);
    if (typeof read === 'object') entries.push({ ...session, folder });
    else unsettled.push(name);
  };
  // A few reads at a time keep libuv's thread pool busy (a first listing of 10,000 sessions).
  for (let i = 0; i < names.length; i += READ_BATCH) await Promise.all(names.slice(i, i + READ_BATCH).map(readOne));
  return { sessions, entries, unsettled };
}

/**
 * The index is text, one session a line, newest first — `<started ms> <id> <resumed_from or -> <folder>` —
 * after a header, the listing stamp and the unsettled folders: 10,000 lines parse in a few ms,
 * several times faster than the same as JSON objects. Ids hold no spaces, and `-` is not an id.
 */
const HEADER = 'echolog sessions index 1';

function formatIndex(index: IndexFile): string {
  const entries = [...index.entries.values()].sort((a, b) => b.started_ms - a.started_ms);
  const lines = entries.map((e) => `${e.started_ms} ${e.id} ${e.resumed_from ?? '-'} ${e.folder}`);
  return `${[HEADER, `listing ${index.listing ?? '-'}`, `unsettled${index.unsettled.map((name) => ` ${name}`).join('')}`, ...lines].join('\n')}\n`;
}

/** The index, or undefined if the file is missing or not an index in every line (read from disk: ids become paths). Pure. */
export function parseIndex(text: string): IndexFile | undefined {
  const lines = text.split('\n');
  if (lines[0] !== HEADER || !lines[1]?.startsWith('listing ') || !lines[2]?.startsWith('unsettled') || lines.at(-1) !== '')
    return undefined;
  const listing = lines[1].slice('listing '.length);
  const unsettled = lines[2].split(' ').slice(1);
  if (!unsettled.every(isValidSessionId)) return undefined;
  // A Map: 10,000 string keys make a plain object a slow dictionary.
  const entries = new Map<string, IndexEntry>();
  for (let i = 3; i < lines.length - 1; i++) {
    const [ms, id, from, folder, extra] = lines[i]!.split(' ');
    const started = Number(ms);
    if (
      !Number.isSafeInteger(started) ||
      !isValidSessionId(id) ||
      (from !== '-' && !isValidSessionId(from)) ||
      !folder ||
      extra !== undefined
    )
      return undefined;
    entries.set(id, { id, started_ms: started, resumed_from: from === '-' ? null : from, folder });
  }
  return { listing: listing === '-' ? null : listing, entries, unsettled };
}

function readIndex(recordingsDir: string): IndexFile | undefined {
  try {
    return parseIndex(fs.readFileSync(path.join(recordingsDir, INDEX_DIR, INDEX_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

async function writeIndex(recordingsDir: string, index: IndexFile): Promise<void> {
  const dir = path.join(recordingsDir, INDEX_DIR);
  // Made once; after that, writing the index changes only this folder's mtime.
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 });
  await writeFileDurable(path.join(dir, INDEX_FILE), formatIndex(index));
}

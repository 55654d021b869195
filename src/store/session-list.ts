import fs from 'node:fs';
import path from 'node:path';
import { recordingsDirError } from './recordings-dir.js';
import { readManifest, type SessionManifest } from './session-manifest.js';

/**
 * Every session folder's manifest, oldest first by `started_at`. Folder names are no order: a
 * `--session-id` is any name, and two generated ids of the same second differ only in random hex.
 */
export async function listSessions(recordingsDir: string): Promise<SessionManifest[]> {
  let names: string[];
  try {
    names = sessionFolderNames(await fs.promises.readdir(recordingsDir, { withFileTypes: true }));
  } catch (error) {
    return noListing(recordingsDir, error);
  }
  return sessionsOf(await Promise.all(names.map((name) => readManifest(path.join(recordingsDir, name)).catch(() => undefined))));
}

/** Dot folders are echolog's own (the sessions index), never sessions. */
export function sessionFolderNames(entries: fs.Dirent[]): string[] {
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

/** No recordings dir yet is no sessions; any other failure to list it names the dir. */
export function noListing(recordingsDir: string, error: unknown): SessionManifest[] {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
  throw recordingsDirError(recordingsDir, error);
}

/** A folder whose session.json is not a session's (hand-edited, another tool's, unreadable) is no session. */
export function sessionsOf(manifests: ReadonlyArray<SessionManifest | string | undefined>): SessionManifest[] {
  return manifests.filter((m): m is SessionManifest => typeof m === 'object' && typeof m.session_id === 'string').sort(compareByStart);
}

/**
 * Oldest first by `started_at`, ties (the same millisecond) by session id, so the order never
 * depends on the file system. A manifest from disk is untrusted: an unreadable time sorts first.
 */
export function compareByStart(
  a: Pick<SessionManifest, 'started_at' | 'session_id'>,
  b: Pick<SessionManifest, 'started_at' | 'session_id'>,
): number {
  const time = (m: Pick<SessionManifest, 'started_at'>): number => {
    const t = typeof m.started_at === 'string' ? Date.parse(m.started_at) : NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0;
}

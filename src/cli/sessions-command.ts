import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SessionBusyError, UsageError } from '../errors.js';
import { SEGMENT_LIST_NAME } from '../recorder/ffmpeg-args.js';
import { readSegmentList } from '../recorder/segment-list-watcher.js';
import { parseLogLine } from '../logging/line-format.js';
import type { EchologConfig } from '../config/schema.js';
import { isSessionOrphaned, liveLock } from '../store/active-lock.js';
import { resolveUserPath } from '../files/paths.js';
import { checkRecordingsDir } from '../store/recordings-dir.js';
import { analyzeContinuity, lastProblems } from '../sessions/session-continuity.js';
import { folderBytes } from '../store/session-files.js';
import { indexSessions } from '../sessions/session-index.js';
import { locateSessionFolder } from '../store/session-locate.js';
import { readManifestOrProblemSync, type SessionManifest } from '../store/session-manifest.js';
import {
  pageSessions,
  resolveChain,
  selectByTime,
  summarize,
  type SessionKey,
  type SessionPage,
  type SessionQuery,
} from '../sessions/session-query.js';
import { TRANSCRIPT_FILES } from '../transcription/transcript/transcript-formats.js';
import type { Confirmer } from './confirm.js';
import {
  formatDeleteQuestion,
  formatListJson,
  formatListTable,
  formatShow,
  formatShowJson,
  type SessionDetails,
} from './sessions-format.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';
import { chunkNumberOf } from '../recorder/chunk-name.js';

/**
 * `echolog sessions list|show|delete` (seed 003's session API, on the recordings dir); `export`
 * is in sessions-export-command.ts, so that `list` does not load the export's modules.
 * Each command returns what it found or did; printing is the last step.
 */
export interface SessionsOptions {
  /** `recordings_dir` as configured (`~` not expanded yet). */
  recordingsDir: string;
  json?: boolean;
}

/** The recordings dir, refused (exit 2) if another account could write it, as `record` and `status` do. */
export async function recordingsDirOf(options: SessionsOptions, surroundings: Surroundings): Promise<string> {
  const dir = resolveUserPath(options.recordingsDir, surroundings);
  await checkRecordingsDir(dir);
  return dir;
}

/** What each command run has said already: a session read twice (index, then page) is warned about once. */
const warned = new WeakMap<Surroundings, Set<string>>();

function warn(surroundings: Surroundings, message: string): void {
  const said = warned.get(surroundings) ?? new Set<string>();
  warned.set(surroundings, said);
  if (said.has(message)) return;
  said.add(message);
  surroundings.stderr.write(`echolog: warning: ${message}\n`);
}

/**
 * The session's manifest; an unreadable session.json is rebuilt from the folder (said on stderr),
 * or the session is skipped with a warning. Loaded on demand: the rebuild reads session.log with
 * the log module, whose logger library alone costs more start-up than a whole `sessions list`.
 */
async function manifestOrRebuilt(dir: string, surroundings: Surroundings): Promise<SessionManifest | undefined> {
  const { loadManifest } = await import('../store/manifest-rebuild.js');
  try {
    const loaded = await loadManifest(dir);
    if (loaded?.rebuilt) warn(surroundings, loaded.rebuilt);
    return loaded?.manifest;
  } catch (error) {
    // One unreadable session must not hide the others.
    warn(surroundings, `skipped ${dir}: ${(error as Error).message}`);
    return undefined;
  }
}

export function indexOf(recordingsDir: string, surroundings: Surroundings): Promise<SessionKey[]> {
  return indexSessions(recordingsDir, { now: surroundings.now(), fallback: (dir) => manifestOrRebuilt(dir, surroundings) });
}

export interface ListOptions extends SessionsOptions {
  query: SessionQuery;
  /** The whole config, loaded only to recover a session whose echolog died. */
  loadConfig: () => Promise<EchologConfig>;
}

export async function listSessionPage(options: ListOptions, surroundings: Surroundings): Promise<SessionPage> {
  const recordingsDir = await recordingsDirOf(options, surroundings);
  const ordered = selectByTime(await indexOf(recordingsDir, surroundings), options.query);
  const live = await liveLock(recordingsDir);
  const read = async (id: string): Promise<SessionManifest | undefined> => {
    const dir = path.join(recordingsDir, id);
    // A session deleted or unreadable since it was indexed is left out of the page.
    const found = readManifestOrProblemSync(dir);
    return typeof found === 'object' ? found : found === undefined ? undefined : await manifestOrRebuilt(dir, surroundings);
  };
  return pageSessions(ordered, options.query, async (id) => {
    let manifest = await read(id);
    // `recording` with its echolog gone (its lock removed by hand): recovered, never listed as recording.
    if (manifest && isSessionOrphaned(manifest, live)) {
      const { recoverInterruptedSession } = await import('../recording/recover-session.js');
      await recoverInterruptedSession({ recordingsDir, sessionId: id, config: await options.loadConfig(), stderr: surroundings.stderr });
      manifest = await read(id);
    }
    return manifest && summarize(id, manifest);
  });
}

export async function sessionsListCommand(options: ListOptions, surroundings: Surroundings): Promise<number> {
  const page = await listSessionPage(options, surroundings);
  surroundings.stdout.write(options.json ? formatListJson(page) : formatListTable(page));
  return 0;
}

const PROBLEM_LINES = 10;

export interface ShowOptions extends SessionsOptions {
  id: string;
  /** The whole config, loaded only to recover the session if its echolog died. */
  loadConfig: () => Promise<EchologConfig>;
}

export async function showSession(options: ShowOptions, surroundings: Surroundings): Promise<SessionDetails> {
  const recordingsDir = await recordingsDirOf(options, surroundings);
  const dir = await locateSessionFolder(recordingsDir, options.id);
  let manifest = await requireManifest(dir, surroundings);
  // `recording` with its echolog gone (its lock removed by hand): recovered, never shown as recording.
  if (isSessionOrphaned(manifest, await liveLock(recordingsDir))) {
    const { recoverInterruptedSession } = await import('../recording/recover-session.js');
    await recoverInterruptedSession({
      recordingsDir,
      sessionId: options.id,
      config: await options.loadConfig(),
      stderr: surroundings.stderr,
    });
    manifest = await requireManifest(dir, surroundings);
  }
  const names = await fs.readdir(dir);
  // Oldest log file first whatever the rotation named them: a backup is older than what replaced it.
  // session.log and its backups (SESSION_LOG_NAME is not imported: its module loads the logger library).
  const logNames = await sortByMtime(
    dir,
    names.filter((name) => name.startsWith('session.log')),
  );
  const logText = (await Promise.all(logNames.map((name) => fs.readFile(path.join(dir, name), 'utf8').catch(() => '')))).join('');
  const logLines = logText.split('\n').filter(Boolean);
  const parsed = logLines.flatMap((line) => parseLogLine(line) ?? []);
  const chunkFiles = names.filter((name) => chunkNumberOf(name) !== undefined).sort();
  const live = await liveLock(recordingsDir);
  return {
    id: options.id,
    dir,
    active: live?.session_id === options.id,
    manifest,
    bytes_on_disk: await folderBytes(dir),
    paths: {
      log: logNames.map((name) => path.join(dir, name)),
      transcript: Object.values(TRANSCRIPT_FILES)
        .filter((name) => names.includes(name))
        .map((name) => path.join(dir, name)),
      chunks: chunkFiles.map((name) => path.join(dir, name)),
    },
    continuity: analyzeContinuity(await readSegmentList(path.join(dir, SEGMENT_LIST_NAME)), chunkFiles, parsed),
    problems: lastProblems(logLines, PROBLEM_LINES),
    chain: resolveChain(await indexOf(recordingsDir, surroundings), options.id),
  };
}

export async function sessionsShowCommand(options: ShowOptions, surroundings: Surroundings): Promise<number> {
  const details = await showSession(options, surroundings);
  surroundings.stdout.write(options.json ? formatShowJson(details) : formatShow(details));
  return 0;
}

async function sortByMtime(dir: string, names: string[]): Promise<string[]> {
  const stamped = await Promise.all(
    names.map(async (name) => ({ name, mtime: (await fs.stat(path.join(dir, name)).catch(() => ({ mtimeMs: 0 }))).mtimeMs })),
  );
  return stamped.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? 1 : -1)).map((s) => s.name);
}

export async function requireManifest(dir: string, surroundings: Surroundings): Promise<SessionManifest> {
  const { loadManifest } = await import('../store/manifest-rebuild.js');
  const loaded = await loadManifest(dir);
  if (!loaded) throw new UsageError(`${dir} has no session.json: not a session echolog can show`);
  if (loaded.rebuilt) surroundings.stderr.write(`echolog: ${loaded.rebuilt}\n`);
  return loaded.manifest;
}

export interface DeleteOptions extends SessionsOptions {
  ids: string[];
  /** Milliseconds: delete the sessions that started longer ago than this. */
  olderThanMs?: number;
  yes: boolean;
  confirmer: Confirmer;
}

/**
 * Deletes sessions that are not recording (seed 003: deleting an active session is a 409). Every
 * id is checked before anything is deleted; a folder is renamed to a dot-name first, so a
 * deletion cut short never leaves half a session that still looks like one.
 */
export async function deleteSessions(options: DeleteOptions, surroundings: Surroundings): Promise<string[]> {
  if (options.ids.length === 0 && options.olderThanMs === undefined)
    throw new UsageError('sessions delete needs session ids or --older-than <duration>');
  const recordingsDir = await recordingsDirOf(options, surroundings);
  for (const id of options.ids) await locateSessionFolder(recordingsDir, id);
  const live = await liveLock(recordingsDir);
  const targets = new Set(options.ids);
  if (live && targets.has(live.session_id)) throw activeSession(live.session_id, live.pid);
  if (options.olderThanMs !== undefined) {
    for (const s of selectByTime(await indexOf(recordingsDir, surroundings), {
      until: new Date(surroundings.now().getTime() - options.olderThanMs),
    })) {
      if (s.id === live?.session_id) surroundings.stderr.write(`echolog: keeping ${s.id}: it is recording now\n`);
      else targets.add(s.id);
    }
  }
  if (targets.size === 0) return [];
  if (!options.yes) {
    if (!options.confirmer.interactive)
      throw new UsageError(
        `refusing to delete ${targets.size} session${targets.size === 1 ? '' : 's'} without confirmation: stdin is not a terminal; pass --yes`,
      );
    const sizes = await Promise.all(
      [...targets].map(async (id) => ({ id, bytes: await folderBytes(path.join(recordingsDir, id)).catch(() => 0) })),
    );
    if (!(await options.confirmer.ask(formatDeleteQuestion(sizes)))) return [];
  }
  const deleted: string[] = [];
  for (const id of targets) {
    // Checked again right before: a session may have started recording while we asked.
    const now = await liveLock(recordingsDir);
    if (now?.session_id === id) throw activeSession(id, now.pid);
    const doomed = path.join(recordingsDir, `.deleting-${id}-${randomBytes(3).toString('hex')}`);
    await fs.rename(path.join(recordingsDir, id), doomed);
    await fs.rm(doomed, { recursive: true, force: true });
    deleted.push(id);
  }
  return deleted;
}

function activeSession(id: string, pid: number): SessionBusyError {
  return new SessionBusyError(
    `session ${id} is recording now (pid ${pid}) and cannot be deleted; stop it first (Ctrl-C in its terminal, or kill -INT ${pid}); nothing was deleted`,
  );
}

export async function sessionsDeleteCommand(options: DeleteOptions, surroundings: Surroundings): Promise<number> {
  const deleted = await deleteSessions(options, surroundings);
  if (options.json) surroundings.stdout.write(formatJson(deleted.map((id) => ({ deleted: true, session_id: id }))));
  else surroundings.stdout.write(deleted.length === 0 ? 'nothing deleted\n' : deleted.map((id) => `deleted ${id}\n`).join(''));
  return 0;
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { SessionBusyError, UsageError } from '../errors.js';
import { bundledFfmpegPath, locateFfmpeg } from '../recorder/ffmpeg-locator.js';
import { SEGMENT_LIST_NAME } from '../recorder/ffmpeg-args.js';
import { readSegmentList } from '../recorder/segment-list-watcher.js';
import { parseLogLine } from '../logging/line-format.js';
import { liveLock } from '../sessions/active-lock.js';
import { resolveRecordingsDir } from '../sessions/recordings-dir.js';
import { readChunks } from '../sessions/session-chunks.js';
import { analyzeContinuity, lastProblems } from '../sessions/session-continuity.js';
import { AUDIO_FORMATS, exportAudio, formatOfFile, mergeTranscripts, TRANSCRIPT_FORMATS, writeTranscriptExport, type TranscriptPart } from '../sessions/session-export.js';
import { folderBytes } from '../sessions/session-files.js';
import { indexSessions, type IndexedSession } from '../sessions/session-index.js';
import { locateSessionFolder } from '../sessions/session-locate.js';
import { readManifestOrProblem, type SessionManifest } from '../sessions/session-manifest.js';
import { pageSessions, resolveChain, selectByTime, summarize, type SessionChain, type SessionPage, type SessionQuery, type SessionSummary } from '../sessions/session-query.js';
import { TRANSCRIPT_FILES } from '../transcription/transcript-formats.js';
import { TranscriptStore } from '../transcription/transcript-store.js';
import type { Confirmer } from './confirm.js';
import { formatDeleteQuestion, formatListJson, formatListTable, formatShow, formatShowJson, type SessionDetails } from './sessions-format.js';
import type { Surroundings } from './surroundings.js';

/**
 * `echolog sessions list|show|delete|export` (seed 003's session API, on the recordings dir).
 * Each command returns what it found or did; printing is the last step.
 */
interface SessionsOptions {
  resolved: ResolvedConfig;
  json?: boolean;
}

function recordingsDirOf(options: SessionsOptions, surroundings: Surroundings): string {
  return resolveRecordingsDir(options.resolved.config.recordings_dir, surroundings.cwd, surroundings.home);
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
  const { loadManifest } = await import('../sessions/manifest-rebuild.js');
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

function indexOf(recordingsDir: string, surroundings: Surroundings): Promise<IndexedSession[]> {
  return indexSessions(recordingsDir, { now: surroundings.now(), fallback: (dir) => manifestOrRebuilt(dir, surroundings) });
}

export async function listSessionPage(options: SessionsOptions & { query: SessionQuery }, surroundings: Surroundings): Promise<SessionPage> {
  const recordingsDir = recordingsDirOf(options, surroundings);
  const ordered = selectByTime(await indexOf(recordingsDir, surroundings), options.query);
  return pageSessions(ordered, options.query, async (id) => {
    const dir = path.join(recordingsDir, id);
    const read = await readManifestOrProblem(dir).catch(() => undefined);
    const manifest = typeof read === 'object' ? read : read === undefined ? undefined : await manifestOrRebuilt(dir, surroundings);
    return manifest && summarize(id, manifest);
  });
}

export async function sessionsListCommand(options: SessionsOptions & { query: SessionQuery }, surroundings: Surroundings): Promise<number> {
  const page = await listSessionPage(options, surroundings);
  surroundings.stdout.write(options.json ? formatListJson(page) : formatListTable(page));
  return 0;
}

const PROBLEM_LINES = 10;

export async function showSession(options: SessionsOptions & { id: string }, surroundings: Surroundings): Promise<SessionDetails> {
  const recordingsDir = recordingsDirOf(options, surroundings);
  const dir = await locateSessionFolder(recordingsDir, options.id);
  const manifest = await requireManifest(dir, surroundings);
  const names = await fs.readdir(dir);
  // Oldest log file first whatever the rotation named them: a backup is older than what replaced it.
  const logNames = await sortByMtime(dir, names.filter((name) => name.startsWith('session.log')));
  const logText = (await Promise.all(logNames.map((name) => fs.readFile(path.join(dir, name), 'utf8').catch(() => '')))).join('');
  const logLines = logText.split('\n').filter(Boolean);
  const parsed = logLines.flatMap((line) => parseLogLine(line) ?? []);
  const chunkFiles = names.filter((name) => /^chunk_\d+\.wav$/.test(name)).sort();
  const live = await liveLock(recordingsDir);
  return {
    id: options.id,
    dir,
    active: live?.session_id === options.id,
    manifest,
    bytes_on_disk: await folderBytes(dir),
    paths: {
      log: logNames.map((name) => path.join(dir, name)),
      transcript: Object.values(TRANSCRIPT_FILES).filter((name) => names.includes(name)).map((name) => path.join(dir, name)),
      chunks: chunkFiles.map((name) => path.join(dir, name)),
    },
    continuity: analyzeContinuity(await readSegmentList(path.join(dir, SEGMENT_LIST_NAME)), chunkFiles, parsed),
    problems: lastProblems(logLines, PROBLEM_LINES),
    chain: resolveChain(await indexOf(recordingsDir, surroundings), options.id),
  };
}

export async function sessionsShowCommand(options: SessionsOptions & { id: string }, surroundings: Surroundings): Promise<number> {
  const details = await showSession(options, surroundings);
  surroundings.stdout.write(options.json ? formatShowJson(details) : formatShow(details));
  return 0;
}

async function sortByMtime(dir: string, names: string[]): Promise<string[]> {
  const stamped = await Promise.all(names.map(async (name) => ({ name, mtime: (await fs.stat(path.join(dir, name)).catch(() => ({ mtimeMs: 0 }))).mtimeMs })));
  return stamped.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? 1 : -1)).map((s) => s.name);
}

async function requireManifest(dir: string, surroundings: Surroundings): Promise<SessionManifest> {
  const { loadManifest } = await import('../sessions/manifest-rebuild.js');
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
  if (options.ids.length === 0 && options.olderThanMs === undefined) throw new UsageError('sessions delete needs session ids or --older-than <duration>');
  const recordingsDir = recordingsDirOf(options, surroundings);
  for (const id of options.ids) await locateSessionFolder(recordingsDir, id);
  const live = await liveLock(recordingsDir);
  const targets = new Set(options.ids);
  if (live && targets.has(live.session_id)) throw activeSession(live.session_id, live.pid);
  if (options.olderThanMs !== undefined) {
    for (const s of selectByTime(await indexOf(recordingsDir, surroundings), { until: new Date(surroundings.now().getTime() - options.olderThanMs) })) {
      if (s.id === live?.session_id) surroundings.stderr.write(`echolog: keeping ${s.id}: it is recording now\n`);
      else targets.add(s.id);
    }
  }
  if (targets.size === 0) return [];
  if (!options.yes) {
    if (!options.confirmer.interactive) throw new UsageError(`refusing to delete ${targets.size} session${targets.size === 1 ? '' : 's'} without confirmation: stdin is not a terminal; pass --yes`);
    const sizes = await Promise.all([...targets].map(async (id) => ({ id, bytes: await folderBytes(path.join(recordingsDir, id)).catch(() => 0) })));
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
  return new SessionBusyError(`session ${id} is recording now (pid ${pid}) and cannot be deleted; stop it first (Ctrl-C in its terminal, or kill -INT ${pid}); nothing was deleted`);
}

export async function sessionsDeleteCommand(options: DeleteOptions, surroundings: Surroundings): Promise<number> {
  const deleted = await deleteSessions(options, surroundings);
  if (options.json) surroundings.stdout.write(`${JSON.stringify(deleted.map((id) => ({ deleted: true, session_id: id })), null, 2)}\n`);
  else surroundings.stdout.write(deleted.length === 0 ? 'nothing deleted\n' : deleted.map((id) => `deleted ${id}\n`).join(''));
  return 0;
}

export interface ExportOptions extends SessionsOptions {
  id: string;
  audio?: string;
  transcript?: string;
  followChain: boolean;
  force: boolean;
}

export interface ExportResult {
  ids: string[];
  audio?: { file: string; chunks: number; seconds: number };
  transcript?: { file: string; utterances: number };
}

export async function exportSession(options: ExportOptions, surroundings: Surroundings): Promise<ExportResult> {
  if (options.audio === undefined && options.transcript === undefined) throw new UsageError('sessions export needs --audio <file> and/or --transcript <file>');
  const outputs = [options.audio, options.transcript].flatMap((file) => (file === undefined ? [] : [path.resolve(surroundings.cwd, file)]));
  const audioFormat = options.audio === undefined ? undefined : formatOfFile(options.audio, AUDIO_FORMATS, '--audio');
  const transcriptFormat = options.transcript === undefined ? undefined : formatOfFile(options.transcript, TRANSCRIPT_FORMATS, '--transcript');
  for (const file of outputs) {
    if (!options.force && (await fs.lstat(file).then(() => true, () => false))) throw new UsageError(`${file} exists; pass --force to replace it`);
  }
  const recordingsDir = recordingsDirOf(options, surroundings);
  await locateSessionFolder(recordingsDir, options.id);
  const ids = options.followChain ? chainIds(resolveChain(await indexOf(recordingsDir, surroundings), options.id), options.id, surroundings) : [options.id];
  const live = await liveLock(recordingsDir);
  if (live && ids.includes(live.session_id)) surroundings.stderr.write(`echolog: ${live.session_id} is still recording: exporting the chunks it has finished so far\n`);

  const parts: Array<TranscriptPart & { manifest: SessionManifest; dir: string }> = [];
  const chunks = [];
  let offsetSeconds = 0;
  for (const id of ids) {
    const dir = await locateSessionFolder(recordingsDir, id);
    const manifest = await requireManifest(dir, surroundings);
    const own = await readChunks(dir, new Date(manifest.started_at));
    parts.push({ manifest, dir, offsetSeconds, lines: await new TranscriptStore(dir).read() });
    chunks.push(...own);
    offsetSeconds += own.reduce((sum, c) => sum + c.durationSeconds, 0);
  }
  const result: ExportResult = { ids };
  if (options.audio !== undefined && audioFormat) {
    const ffmpeg = locateFfmpeg({ configuredPath: options.resolved.config.ffmpeg.path, env: surroundings.env, bundledPath: await bundledFfmpegPath() });
    const file = path.resolve(surroundings.cwd, options.audio);
    const seconds = await exportAudio({ ffmpegPath: ffmpeg.path, chunks, format: audioFormat, output: file });
    result.audio = { file, chunks: chunks.length, seconds };
  }
  if (options.transcript !== undefined && transcriptFormat) {
    const last = parts.at(-1)!.manifest;
    const doc = mergeTranscripts(parts, { sessionId: options.id, language: last.language ?? options.resolved.config.transcription.language, duration: offsetSeconds });
    const file = path.resolve(surroundings.cwd, options.transcript);
    await writeTranscriptExport(file, doc, transcriptFormat);
    result.transcript = { file, utterances: doc.utterances.length };
  }
  return result;
}

function chainIds(chain: SessionChain, id: string, surroundings: Surroundings): string[] {
  if (chain.fork) {
    throw new UsageError(`the resume chain of ${id} forks: ${chain.fork.id} was resumed by ${chain.fork.children.join(' and ')}; export one of those with --follow-chain`);
  }
  if (chain.missingParent) surroundings.stderr.write(`echolog: the chain starts at ${chain.ids[0]}: the session it resumed (${chain.missingParent}) is gone\n`);
  return chain.ids;
}

export async function sessionsExportCommand(options: ExportOptions, surroundings: Surroundings): Promise<number> {
  const result = await exportSession(options, surroundings);
  const what = result.ids.join(' → ');
  if (result.audio) surroundings.stdout.write(`audio: ${result.audio.chunks} chunks of ${what} (${result.audio.seconds.toFixed(3)} s) → ${result.audio.file}\n`);
  if (result.transcript) surroundings.stdout.write(`transcript: ${result.transcript.utterances} utterances of ${what} → ${result.transcript.file}\n`);
  return 0;
}

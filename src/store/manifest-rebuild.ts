import fs from 'node:fs/promises';
import path from 'node:path';
import { ManifestError } from '../errors.js';
import { LOG_LEVELS, type LogLevel } from '../config/choices.js';
import { parseLogLine } from '../logging/line-format.js';
import { SESSION_LOG_NAME } from '../logging/log-names.js';
import type { SegmentListRow } from '../recorder/segment-list.js';
import { finalStatusFor, STOP_REASONS, type StopReason } from './stop-reason.js';
import { readSessionSegmentLists } from '../recorder/segment-list-watcher.js';
import { isValidPid } from '../process/process-identity.js';
import { manifestPath, parseManifest, readManifestOrProblem, type SessionManifest, type SessionStatus } from './session-manifest.js';

/**
 * A truncated, empty or garbage session.json (power loss, a full disk) is rebuilt from what else
 * the folder holds: session.log's session_start (what the session was), its chunk_created and
 * session_stop lines (how far it got), and segments.csv (which chunks are final).
 */
export interface ManifestEvidence {
  /** The session folder's name: the session id the rebuilt manifest must have. */
  dirName: string;
  logPath: string;
  /** Fields of the session_start line, if any log file still has it. */
  start?: Record<string, string>;
  /** Fields of the last session_stop line. */
  stop?: Record<string, string>;
  /** The session_stop line's time. */
  stopTime?: string;
  /** pid of the last ffmpeg_started line. */
  ffmpegPid?: string;
  /** duration_s and offset_s of each chunk_created line, by file. */
  logged: ReadonlyMap<string, LoggedChunk>;
  rows: readonly SegmentListRow[];
}

export interface LoggedChunk {
  durationSeconds: number;
  /** Where the chunk sits from the session start, on the wall clock (restarts leave gaps). */
  offsetSeconds: number | undefined;
}

/** The manifest the evidence supports, or why there is none. Pure. */
export function rebuildManifest(evidence: ManifestEvidence): SessionManifest | string {
  const start = evidence.start;
  if (!start) return `${path.basename(evidence.logPath)} has no session_start line to rebuild it from`;
  if (start.session_id !== evidence.dirName) return `session.log's session_id ${JSON.stringify(start.session_id)} is not the folder's name`;
  // Chunks count only while each is logged in order: the count recovery resumes from.
  let chunks = 0;
  let audio = 0;
  for (const row of evidence.rows) {
    const logged = evidence.logged.get(row.file);
    if (logged === undefined) break;
    chunks++;
    audio += logged.durationSeconds;
  }
  const level = start.log_level as LogLevel;
  const ffmpegPid = Number(evidence.ffmpegPid);
  const candidate = {
    session_id: start.session_id,
    status: statusOf(evidence.stop?.reason),
    pid: Number(start.pid),
    pid_start_ticks: null,
    ffmpeg_pid: isValidPid(ffmpegPid) ? ffmpegPid : null,
    ffmpeg_start_ticks: null,
    started_at: start.start_time,
    ended_at: evidence.stopTime ?? null,
    stop_reason: evidence.stop?.reason ?? null,
    error: evidence.stop?.message ?? null,
    log_path: evidence.logPath,
    log_level: LOG_LEVELS.includes(level) ? level : 'info',
    device: start.device ?? '',
    input_format: start.input_format ?? '',
    sample_rate: Number(start.sample_rate),
    channels: Number(start.channels),
    segment_time: Number(start.segment_time),
    // The resume link is in session_start too, so a rebuilt session stays in its chain.
    resumed_from: start.resumed_from ?? null,
    engine: start.transcription_engine && start.transcription_engine !== 'none' ? start.transcription_engine : null,
    model: start.transcription_model || null,
    stats: { chunks, audio_duration_seconds: Number(audio.toFixed(3)), utterance_count: 0, word_count: 0 },
  };
  const parsed = parseManifest(candidate);
  return typeof parsed === 'string' ? `session.log's session_start line has an ${parsed}` : parsed;
}

function statusOf(reason: string | undefined): SessionStatus {
  if (reason === undefined) return 'recording';
  // A reason this echolog does not know (hand-edited, a newer version) is no success.
  return (STOP_REASONS as readonly string[]).includes(reason) ? finalStatusFor(reason as StopReason) : 'error';
}

/** Reads the evidence: segments.csv and every session.log file (the active one and its backups). */
export async function gatherManifestEvidence(sessionDir: string): Promise<ManifestEvidence> {
  const logPath = path.join(sessionDir, SESSION_LOG_NAME);
  const names = await logFilesOldestFirst(sessionDir);
  const evidence: Pick<ManifestEvidence, 'start' | 'stop' | 'stopTime' | 'ffmpegPid'> = {};
  const logged = new Map<string, LoggedChunk>();
  // Oldest first, so a later line (the last run's ffmpeg_started, session_stop) wins over an earlier one.
  for (const name of names) {
    const text = await fs.readFile(path.join(sessionDir, name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const parsed = parseLogLine(line);
      if (!parsed) continue;
      const fields = parsed.fields;
      if (parsed.message === 'session_start') evidence.start = fields;
      else if (parsed.message === 'session_stop') Object.assign(evidence, { stop: fields, stopTime: parsed.timestamp });
      else if (parsed.message === 'ffmpeg_started') evidence.ffmpegPid = fields.pid;
      else if (parsed.message === 'chunk_created' && fields.file) {
        const offset = Number(fields.offset_s);
        logged.set(fields.file, {
          durationSeconds: Number(fields.duration_s) || 0,
          offsetSeconds: fields.offset_s !== undefined && Number.isFinite(offset) && offset >= 0 ? offset : undefined,
        });
      }
    }
  }
  const rows = await readSessionSegmentLists(sessionDir).catch(() => []);
  return { dirName: path.basename(sessionDir), logPath, logged, rows, ...evidence };
}

/**
 * session.log and its backups, oldest first. Names alone cannot order them (size rotation counts
 * down, time rotation is dated), so by the time of their last write; the active file last.
 */
async function logFilesOldestFirst(sessionDir: string): Promise<string[]> {
  const names = (await fs.readdir(sessionDir).catch(() => [] as string[])).filter((name) => name.startsWith(SESSION_LOG_NAME));
  const dated = await Promise.all(
    names.map(async (name) => ({
      name,
      mtime: await fs.stat(path.join(sessionDir, name)).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    })),
  );
  return dated
    .sort((a, b) => Number(a.name === SESSION_LOG_NAME) - Number(b.name === SESSION_LOG_NAME) || a.mtime - b.mtime)
    .map((d) => d.name);
}

export interface LoadedManifest {
  manifest: SessionManifest;
  /** Set when session.json was unreadable and this manifest was rebuilt: the one line to show. */
  rebuilt?: string;
}

/**
 * The session's manifest; an unreadable session.json is rebuilt from the folder (not written
 * here: the caller writes it when it next updates). Undefined when there is no session.json at
 * all; a ManifestError naming the file when it is unreadable and cannot be rebuilt.
 */
export async function loadManifest(sessionDir: string): Promise<LoadedManifest | undefined> {
  const read = await readManifestOrProblem(sessionDir);
  if (typeof read !== 'string') return read && { manifest: read };
  const file = manifestPath(sessionDir);
  const rebuilt = rebuildManifest(await gatherManifestEvidence(sessionDir));
  if (typeof rebuilt === 'string') throw new ManifestError(`${file} cannot be used: ${read}, and ${rebuilt}`);
  return { manifest: rebuilt, rebuilt: `${file} was unreadable (${read}); rebuilt it from segments.csv and session.log` };
}

import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic, writeJsonDurable } from '../files/durable-write.js';
import { isValidPid } from '../process/process-identity.js';
import { LOG_LEVELS, type LogLevel } from '../config/choices.js';
import { isValidSessionId } from './session-id.js';

/** What `session.json` (its `transcription`, with the model) and `echolog status` show of the transcriber. */
export interface TranscriberProgress {
  engine: string;
  state: 'running' | 'unavailable' | 'stopped';
  /** Chunks whose text is final in transcript.jsonl. */
  transcribed_chunks: number;
  silent_chunks: number;
  failed_chunks: number;
  pending_chunks: number;
  /** Seconds of recorded audio not transcribed yet. */
  lag_seconds: number;
  /** Busy time (wall clock with at least one chunk in flight) / audio time over the last chunks; above 1 the engine falls behind. */
  realtime_factor: number | null;
  utterance_count: number;
  word_count: number;
}

/** Zero counts, before any chunk. */
export function startingProgress(engine: string, state: TranscriberProgress['state']): TranscriberProgress {
  return {
    engine,
    state,
    transcribed_chunks: 0,
    silent_chunks: 0,
    failed_chunks: 0,
    pending_chunks: 0,
    lag_seconds: 0,
    realtime_factor: null,
    utterance_count: 0,
    word_count: 0,
  };
}

/**
 * `session.json` in the session folder: what a session is and how it went (seed 003's
 * session record, as a file). Rewritten atomically on every change of state and every chunk,
 * so `status`, recovery and `transcribe` can trust it even after a crash.
 */
export type SessionStatus = 'recording' | 'completed' | 'error' | 'interrupted';

export interface SessionManifest {
  session_id: string;
  status: SessionStatus;
  pid: number;
  /** echolog's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for it; null without /proc. */
  pid_start_ticks: number | null;
  ffmpeg_pid: number | null;
  /** ffmpeg's start time, recorded at spawn: recovery signals ffmpeg_pid only if it still matches. */
  ffmpeg_start_ticks: number | null;
  started_at: string;
  ended_at: string | null;
  stop_reason: string | null;
  error: string | null;
  log_path: string;
  /** The session's log level, so recovery writes to its log at the level it was recorded with. */
  log_level: LogLevel;
  device: string;
  input_format: string;
  sample_rate: number;
  channels: number;
  segment_time: number;
  /** The transcription engine and its model (seed 003's `model`); null when not transcribing. Absent before issue 12. */
  engine?: string | null;
  model?: string | null;
  /** The transcript's language (transcription.language). */
  language?: string | null;
  /** The session this one resumes (`record --resume`, seed 003's soft resume); null when it resumes none. */
  resumed_from?: string | null;
  stats: {
    /** Chunks that are final on disk and logged as chunk_created (whole ones only). */
    chunks: number;
    /** Listed chunks that were not whole (chunk_incomplete): not counted in `chunks`, but they keep their seq. Absent before issue 17. */
    incomplete_chunks?: number;
    /** From `audio_frames` (rounded to the ms for display only); older sessions summed per-chunk values. */
    audio_duration_seconds: number;
    /** Sample frames in the whole chunks: durations are summed exactly, in samples. Absent before issue 17. */
    audio_frames?: number;
    utterance_count: number;
    word_count: number;
    /** Bytes of the session's files: the chunks while recording, the whole folder from the stop on. Absent before issue 12. */
    bytes_on_disk?: number;
  };
  /** The `session_start` line as logged: a rotated-away log start survives here. */
  session_start_line?: string;
  /** The ffmpeg command as logged in `ffmpeg_command` (pastes into a shell). */
  ffmpeg_command?: string;
  /** Capture's health (restarts, a stall, the last chunk's level); absent in older sessions. */
  capture?: CaptureStatus;
  /** The transcriber's progress; absent when it is off. */
  transcription?: TranscriberProgress & { model: string };
}

/** What `status` shows of capture. */
export interface CaptureStatus {
  /** ffmpeg restarts so far in the session. */
  restarts: number;
  /** When the last chunk before a stall in progress was seen; null when capture flows. */
  stalled_since: string | null;
  /** The last chunk's level in dBFS as the log writes it (`-inf`: digital silence); null before the first. */
  last_level_db: string | null;
}

/** The capture part of a manifest as it is now (defaults before its first change). */
export function captureStatus(m: Pick<SessionManifest, 'capture'>): CaptureStatus {
  return m.capture ?? { restarts: 0, stalled_since: null, last_level_db: null };
}

export const MANIFEST_NAME = 'session.json';

export function manifestPath(sessionDir: string): string {
  return path.join(sessionDir, MANIFEST_NAME);
}

const STATUSES: readonly SessionStatus[] = ['recording', 'completed', 'error', 'interrupted'];

/**
 * A session.json from disk is untrusted (a crash, power loss, another hand): checks the fields
 * that become paths, pids and arithmetic. Returns the manifest, or why it is not one. Pure.
 */
export function parseManifest(value: unknown): SessionManifest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const m = value as Record<string, unknown>;
  const stats = m.stats as Record<string, unknown> | undefined;
  const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const isTicks = (n: unknown): boolean => n === undefined || n === null || (Number.isSafeInteger(n) && (n as number) >= 0);
  const problems: Array<[boolean, string]> = [
    [isValidSessionId(m.session_id), 'session_id'],
    [STATUSES.includes(m.status as SessionStatus), 'status'],
    [isValidPid(m.pid), 'pid'],
    [m.ffmpeg_pid === null || isValidPid(m.ffmpeg_pid), 'ffmpeg_pid'],
    [isTicks(m.pid_start_ticks) && isTicks(m.ffmpeg_start_ticks), 'pid_start_ticks/ffmpeg_start_ticks'],
    [typeof m.started_at === 'string' && !Number.isNaN(Date.parse(m.started_at)), 'started_at'],
    [LOG_LEVELS.includes(m.log_level as LogLevel), 'log_level'],
    [isCount(m.sample_rate) && isCount(m.channels), 'sample_rate/channels'],
    [typeof stats === 'object' && stats !== null && isCount(stats.chunks) && isCount(stats.audio_duration_seconds), 'stats'],
    // Becomes a path when the resume chain is followed.
    [m.resumed_from === undefined || m.resumed_from === null || isValidSessionId(m.resumed_from), 'resumed_from'],
  ];
  const bad = problems.filter(([ok]) => !ok).map(([, key]) => key);
  if (bad.length > 0) return `invalid ${bad.join(', ')}`;
  // Written by an echolog before start times were recorded: unknown, not absent.
  return {
    ...(m as unknown as SessionManifest),
    pid_start_ticks: (m.pid_start_ticks as number | undefined) ?? null,
    ffmpeg_start_ticks: (m.ffmpeg_start_ticks as number | undefined) ?? null,
    // Shown by status only: a malformed one is left out rather than refusing the manifest.
    capture: parseCaptureStatus(m.capture),
  };
}

function parseCaptureStatus(value: unknown): CaptureStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const optionalString = (v: unknown): v is string | null => v === null || (typeof v === 'string' && v.length <= 40);
  if (
    !Number.isSafeInteger(c.restarts) ||
    (c.restarts as number) < 0 ||
    !optionalString(c.stalled_since) ||
    !optionalString(c.last_level_db)
  )
    return undefined;
  return { restarts: c.restarts as number, stalled_since: c.stalled_since, last_level_db: c.last_level_db };
}

/** The manifest, undefined if there is none, or why the file there is not one (truncated, garbage, …). */
export async function readManifestOrProblem(sessionDir: string): Promise<SessionManifest | string | undefined> {
  return manifestOrProblem(await fs.readFile(manifestPath(sessionDir), 'utf8').catch(undefinedIfMissing));
}

/**
 * The same, synchronously (`sessions list`, `status`: several times faster than through the thread pool); a file that
 * cannot be read (permissions, a folder in its place, deleted meanwhile) is no file.
 */
export function readManifestOrProblemSync(sessionDir: string): SessionManifest | string | undefined {
  try {
    return manifestOrProblem(fsSync.readFileSync(manifestPath(sessionDir), 'utf8'));
  } catch {
    return undefined;
  }
}

function undefinedIfMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

function manifestOrProblem(text: string | undefined): SessionManifest | string | undefined {
  if (text === undefined) return undefined;
  try {
    return parseManifest(JSON.parse(text));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return text.length === 0 ? 'it is empty' : 'it is not valid JSON (truncated?)';
  }
}

/** The manifest, or undefined if there is none or it is not valid (see readManifestOrProblem). */
export async function readManifest(sessionDir: string): Promise<SessionManifest | undefined> {
  const manifest = await readManifestOrProblem(sessionDir);
  return typeof manifest === 'object' ? manifest : undefined;
}

export function writeManifest(sessionDir: string, manifest: SessionManifest): Promise<void> {
  return writeJsonDurable(manifestPath(sessionDir), manifest);
}

/**
 * Holds a session's manifest in memory and writes it in order, one write at a time. Changes made
 * while a write is waiting join it (one file write for the chunk ledger's and the transcriber's
 * updates of the same moment). A failed write rejects its callers only: later ones still write.
 *
 * A change of state is written durably (fsync'd). A chunk count may be written `atomic`: whole
 * (temp file + rename) but not fsync'd — after a power loss session.json may count fewer chunks,
 * and recovery counts the chunk_created lines ahead of it anyway. One fsync per chunk was the
 * largest part of echolog's own CPU at full speed (issue 19).
 */
export type ManifestWrite = 'durable' | 'atomic';

/** Atomic (chunk count) writes come at most this often; a durable one goes at once. */
const ATOMIC_WRITE_INTERVAL_MS = 1000;

export class ManifestStore {
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private queuedDurable = false;
  /** Starts a queued atomic write held back by ATOMIC_WRITE_INTERVAL_MS. */
  private release: (() => void) | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;
  private lastWriteMs = Number.NEGATIVE_INFINITY;

  /** `onWriteError` hears of every failed write (the session stops on a full disk); callers get the rejection too. */
  constructor(
    private readonly sessionDir: string,
    private current: SessionManifest,
    private readonly onWriteError?: (error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get value(): Readonly<SessionManifest> {
    return this.current;
  }

  /**
   * Applies `change` now; resolves once a write that includes it is on disk (durably, unless
   * `atomic`). Atomic writes are held back to one a second (a chunk count at full speed changes
   * 30 times a second), joined by whatever changes meanwhile; a durable change writes at once.
   */
  update(change: (manifest: SessionManifest) => void, write: ManifestWrite = 'durable'): Promise<void> {
    change(this.current);
    if (write === 'durable') {
      this.queuedDurable = true;
      this.flush();
    }
    if (this.queued) return this.queued;
    const wait = write === 'atomic' ? this.lastWriteMs + ATOMIC_WRITE_INTERVAL_MS - this.now() : 0;
    const held =
      wait > 0
        ? new Promise<void>((resolve) => {
            this.release = resolve;
            this.releaseTimer = setTimeout(() => this.flush(), wait);
          })
        : Promise.resolve();
    const next = Promise.all([this.writing, held]).then(() => {
      this.queued = undefined;
      this.lastWriteMs = this.now();
      const durable = this.queuedDurable;
      this.queuedDurable = false;
      return durable
        ? writeManifest(this.sessionDir, this.current)
        : writeFileAtomic(manifestPath(this.sessionDir), `${JSON.stringify(this.current, null, 2)}\n`);
    });
    this.queued = next;
    this.writing = next.catch((error: unknown) => this.onWriteError?.(error));
    return next;
  }

  /** Starts a held-back write now (the session is ending, or a durable change came). */
  flush(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.release?.();
    this.release = undefined;
  }
}

import path from 'node:path';
import type { TranscriberProgress } from '../transcription/chunk-transcriber.js';
import { readJson, writeJsonAtomic } from './atomic-json.js';
import type { LogLevel } from '../config/schema.js';

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
  ffmpeg_pid: number | null;
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
  stats: {
    /** Chunks that are final on disk and logged as chunk_created. */
    chunks: number;
    audio_duration_seconds: number;
    utterance_count: number;
    word_count: number;
  };
  /** The `session_start` line as logged: a rotated-away log start survives here. */
  session_start_line?: string;
  /** The ffmpeg command as logged in `ffmpeg_command` (pastes into a shell). */
  ffmpeg_command?: string;
  /** The transcriber's progress; absent when it is off. */
  transcription?: TranscriberProgress & { model: string };
}

export const MANIFEST_NAME = 'session.json';

export function manifestPath(sessionDir: string): string {
  return path.join(sessionDir, MANIFEST_NAME);
}

export function readManifest(sessionDir: string): Promise<SessionManifest | undefined> {
  return readJson<SessionManifest>(manifestPath(sessionDir));
}

export function writeManifest(sessionDir: string, manifest: SessionManifest): Promise<void> {
  return writeJsonAtomic(manifestPath(sessionDir), manifest);
}

/**
 * Holds a session's manifest in memory and writes it in order, one write at a time. Changes made
 * while a write is waiting join it (one file write for the chunk ledger's and the transcriber's
 * updates of the same moment). A failed write rejects its callers only: later ones still write.
 */
export class ManifestStore {
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly sessionDir: string,
    private current: SessionManifest,
  ) {}

  get value(): Readonly<SessionManifest> {
    return this.current;
  }

  /** Applies `change` now; resolves once a write that includes it is on disk. */
  update(change: (manifest: SessionManifest) => void): Promise<void> {
    change(this.current);
    if (this.queued) return this.queued;
    const write = this.writing.then(() => {
      this.queued = undefined;
      return writeManifest(this.sessionDir, this.current);
    });
    this.queued = write;
    this.writing = write.catch(() => undefined);
    return write;
  }
}

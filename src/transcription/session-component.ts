import type { Chunk } from '../recorder/chunk.js';
import type { LogFields } from '../logging/line-format.js';
import type { Logger, SessionLog } from '../logging/session-log.js';
import type { LogLevel } from '../config/schema.js';
import type { SessionManifest } from '../store/session-manifest.js';
import type { LiveAudioConsumer } from '../capture/capture-outputs.js';

/** Something said before the session log exists; written right after `session_start`. */
export interface DeferredLogLine {
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

export interface SessionContext {
  sessionId: string;
  sessionDir: string;
  sessionStart: Date;
  log: SessionLog;
  /** Tell the user something while recording (a transcript line, a lag warning). */
  notify: (event: RecordingEvent) => void;
  /** Changes session.json (stats, the transcriber's progress) through the session's one writer. */
  updateManifest: (change: (manifest: SessionManifest) => void) => Promise<void>;
  /** The session's current manifest, as the session holds it. */
  manifest: () => Readonly<SessionManifest>;
}

/**
 * A part of the pipeline that consumes chunks beside the log (the transcriber is one).
 * The session calls, in order: `prepare` before anything is created (quick; throw to refuse the
 * session), `attach` once the log is open, then `start` (its slow part, e.g. loading an engine)
 * at the same time as capture starts: capture never waits for it; a rejection stops the session.
 * `onChunk` per finished chunk (must not block; chunks may come before `start` resolves), and
 * `finish` after the last chunk is logged (may take its own bounded time). `finish` is also
 * called without `attach` when the session fails to start: release what `prepare` took.
 * Lines in `deferred` are logged as `echolog.<name>`.
 */
export interface SessionComponent {
  readonly name: string;
  prepare(): Promise<{ startFields: LogFields; deferred: DeferredLogLine[] }>;
  attach(context: SessionContext): void;
  start?(): Promise<void>;
  onChunk(chunk: Chunk): void;
  /**
   * Optional: audio as it is captured. Asked once capture is about to start; a consumer makes the
   * session add a raw-PCM output to ffmpeg and hand over each ffmpeg run's stdout.
   */
  liveAudio?(): LiveAudioConsumer | undefined;
  /**
   * Returns fields for `session_stop` (e.g. what was left untranscribed). `budgetMs`, when given,
   * is all the time it has (a signalled stop must end echolog within seconds); what it cannot
   * finish by then it leaves, and says so in the fields.
   */
  finish(budgetMs?: number): Promise<LogFields>;
}

export type RecordingEvent =
  | {
      type: 'started';
      sessionId: string;
      logPath: string;
      level: LogLevel;
      sessionDir: string;
      pid: number;
      /** The session this one resumes (`--resume`). */
      resumedFrom?: string;
      /** What session_start says of the components (transcription_engine, transcription_model, daemon_pid, …). */
      startFields: LogFields;
    }
  | { type: 'chunk'; chunk: Chunk }
  | { type: 'text'; seq: number; text: string; startSeconds: number }
  /** What the engine hears in the utterance under way (screen only; '' when it ended). */
  | { type: 'partial'; text: string }
  | { type: 'warning'; message: string }
  | { type: 'stopping'; reason: string };

export type { Logger };

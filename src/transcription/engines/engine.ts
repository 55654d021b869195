import type { EngineAudioFormat } from '../../audio/engine-audio.js';
import type { LogFields } from '../../logging/line-format.js';

export type { EngineAudioFormat } from '../../audio/engine-audio.js';

/**
 * One interface for every transcription engine: in-process (whisper), subprocess (pocketsphinx)
 * and out-of-process (the seed-004 session daemon). The session feeds chunks in order, one at a
 * time; an engine may hold state across chunks (a streaming decoder) and may return text for
 * earlier audio later (an utterance that crossed a chunk boundary).
 */
export interface EngineChunk {
  seq: number;
  /** The chunk's file, as recorded (any rate and channels); engines that read files themselves (the daemon) use it. */
  path: string;
  /** Seconds from session start where this chunk begins (its true offset). */
  offsetSeconds: number;
  /** The chunk's length from its header; 0 where it is known only once read (a daemon request ffmpeg decodes). */
  durationSeconds: number;
  /**
   * The chunk's audio in the engine's own `audioFormat` (16-bit little-endian mono PCM at its
   * rate), in pieces of at most PIECE_BYTES (64 KiB, src/audio/engine-audio.ts), in order: read from the file when it is
   * already in that format, else decoded by ffmpeg as it is read. Never the whole chunk at once:
   * hold only what the engine needs. Iterate it once per attempt; leaving the loop early ends the
   * decode. It throws when the caller gives up on the chunk (a stopping daemon) or the decode fails.
   */
  audio(): AsyncIterable<Buffer>;
  /**
   * The audio does not follow the chunk before it (a session daemon's requests come from unrelated
   * clients): no text of another chunk may go with it (openai: no prompt), nor its text with another.
   */
  standalone?: boolean;
}

/** What a rejection of `transcribe` may say about retrying it (a network engine knows; others say nothing). */
export interface EngineFault {
  /** false: no retry can fix it (a refused key, a wrong URL); the chunk fails at once. */
  retryable?: boolean;
  /** How long the server asked to wait before the next attempt. */
  retryAfterMs?: number;
  /** The HTTP status, for the log. */
  status?: number;
}

export interface TranscriptWord {
  start: number;
  end: number;
  word: string;
}

/** A piece of transcript with session-relative times in seconds. */
export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
  words?: TranscriptWord[];
}

export interface TranscriptionEngine {
  /** `pocketsphinx`, `whisper`, `daemon`: written in session_start and every transcript line. */
  readonly name: string;
  /** The model in use (a name or a path), for session_start. */
  readonly model: string;
  /** Optional: more about the engine for session_start once started (the daemon: its pid, device, model). */
  startFields?(): LogFields;
  /**
   * A streaming decoder: silence is what ends its utterances, so silent chunks are fed to it too
   * (and `echolog transcribe` feeds it what a live session fed it). Unset: the silence gate keeps
   * quiet chunks from engines that invent text on silence (whisper).
   */
  readonly needsSilence?: boolean;
  /**
   * The audio it takes: what `EngineChunk.audio()` yields. Unset: the engine reads the chunk's
   * file (`path`) itself and never calls `audio()` (the session daemon's client).
   */
  readonly audioFormat?: EngineAudioFormat;
  /** Loads the engine; resolves when it can take audio. The caller bounds it with ready_timeout. */
  start(): Promise<void>;
  /**
   * Optional: how long one `transcribe` may take by the engine's own bound (the daemon client's
   * transcription.daemon_timeout); the caller's bound on an attempt is never shorter.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * Optional: the engine keeps no state between chunks (a network server) and takes up to this many
   * at once; the queue commits their text in chunk order, and a failed attempt needs no restart.
   * Unset: one chunk at a time.
   */
  readonly concurrency?: number;
  /** Optional: more about a chunk just transcribed, for its chunk_transcribed line (openai: which chunk's text was its prompt). */
  chunkFields?(seq: number): LogFields;
  /** Transcribes one chunk; rejects on failure (the caller retries with backoff; see EngineFault). */
  transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]>;
  /**
   * Optional (streaming engines): session seconds up to which every piece of text has been
   * returned; audio after it may still yield text (an utterance in progress), which a crash would
   * lose. Engines without it finalize each chunk when `transcribe` resolves.
   */
  finalizedThrough?(): number;
  /** Text still held for audio already fed (end of stream); called once after the last chunk. */
  flush(): Promise<TranscriptSegment[]>;
  close(): Promise<void>;
}

/**
 * A streaming engine that can also take audio as it is captured (see LiveTranscriber), not
 * only per finished chunk. Utterances then come pushed, as the decoder ends them.
 */
export interface LiveEngine extends TranscriptionEngine {
  /** What it takes (mono s16le at this rate): the capture's live output is resampled to it. */
  readonly audioFormat: EngineAudioFormat;
  /** `onPartial`: the hypothesis of the utterance being spoken, where the decoder tells it ('' when it ends). */
  beginLive(onSegment: (segment: TranscriptSegment) => void, onPartial?: (text: string) => void): void;
  /** Audio captured from session second `sessionStart`. */
  writeLive(pcm: Buffer, sessionStart: number): Promise<void>;
  /**
   * Ends the utterance under way, at session second `sessionAt`, with the engine's own break (for
   * pocketsphinx, silence longer than its end-of-speech wait); resolves to the stream seconds it
   * took, which take no session time.
   */
  writeBreak(sessionAt: number): Promise<number>;
  /** Seconds of the stream (live audio and added silence) the decoder has read. */
  streamSecondsRead(): Promise<number | undefined>;
}

export function isLiveEngine(engine: TranscriptionEngine | undefined): engine is LiveEngine {
  return engine !== undefined && 'beginLive' in engine && 'writeLive' in engine;
}

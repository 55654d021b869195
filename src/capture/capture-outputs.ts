import type { Readable } from 'node:stream';
import type { SegmentListRow } from '../recorder/segment-list.js';

/**
 * Where capture hands each finished chunk (a row of ffmpeg's segment list). The recording's chunk ledger is
 * the one implementation: it logs `chunk_created` and counts the chunk in session.json. Capture owns this
 * interface so that it depends on nothing above it.
 */
export interface ChunkSink {
  /**
   * The chunks added from now on belong to an ffmpeg run that began capturing at `anchor`. Returns the
   * session second where the run's audio begins (its first chunk's offset, where its live output is placed).
   */
  beginRun(anchor: Date): number;
  /** Queues a row; rows are handled strictly in order. `extraFields` go on its `chunk_created` line. */
  add(row: SegmentListRow, extraFields?: Record<string, string | boolean>): void;
  /** Resolves once every queued row is logged and counted. */
  settled(): Promise<void>;
  /** Where the audio handed over so far ends on the wall clock (call once settled). */
  audioEndsAt(): Date;
}

/** Takes ffmpeg's live output (mono s16le at `sampleRate`); must read it always, never pause it. */
export interface LiveAudioConsumer {
  sampleRate: number;
  /** One ffmpeg run's output; its first sample is at session second `sessionStart` (the run's chunk anchor). */
  attach(stdout: Readable, sessionStart: number): void;
}

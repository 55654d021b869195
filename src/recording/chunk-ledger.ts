import { chunkLogFields, IncompleteChunkError, readChunk, type Chunk } from '../recorder/chunk.js';
import type { SegmentListRow } from '../recorder/segment-list.js';
import type { ChunkSink } from '../capture/capture-outputs.js';
import type { Logger } from '../logging/session-log.js';
import type { ManifestStore, SessionManifest } from '../store/session-manifest.js';
import type { WavInfo } from '../recorder/wav-header.js';
import { roundToMs } from '../round-seconds.js';
import { LIVE_LEVEL_WINDOW_SECONDS } from '../recorder/ffmpeg-args.js';

/** Audio time and wall time may part by this much before the log says so (once). */
const DRIFT_WARNING_SECONDS = 1;
/**
 * A device delivers its first samples a moment after ffmpeg starts (PulseAudio: 1.5–2.2 s here):
 * a constant lateness up to this much, set by a run's first chunk, is start-up, not drift.
 */
const START_LATENCY_SECONDS = 3;

/**
 * Turns segment-list rows into chunks, in order: logs `chunk_created` and counts the chunk in
 * the manifest. The manifest's count is what recovery uses to find chunks never logged.
 *
 * A chunk's place in time is the wall clock at which its ffmpeg run began (`beginRun`) plus the
 * audio that run captured before it: a restart, a stall or a lost chunk never shifts the chunks
 * after it. Without `beginRun` (recovery) the session start is the anchor.
 */
export class ChunkLedger implements ChunkSink {
  private queue: Promise<void> = Promise.resolve();
  /** The session.json write counting the last chunk; never rejects (a failure is logged). */
  private lastWrite: Promise<void> = Promise.resolve();
  private runAnchor: Date;
  /** stats.audio_duration_seconds when the current run began. */
  private audioBeforeRun = 0;
  private driftChecked = false;
  /** The previous chunk was already past the drift limit. */
  private driftSeen = false;
  /** The current run's start-up lateness (its first chunk's, up to START_LATENCY_SECONDS). */
  private startLatency: number | undefined;

  constructor(
    private readonly dir: string,
    private readonly sessionStart: Date,
    private readonly log: Logger,
    private readonly manifest: ManifestStore,
    private readonly onChunk: (chunk: Chunk) => void,
    /** Compare each chunk's end with the wall clock (a live-paced capture; not recovery). */
    private readonly checkDrift = false,
  ) {
    this.runAnchor = sessionStart;
  }

  /**
   * Chunks added from now on belong to an ffmpeg run that began capturing at `anchor`. Returns
   * the session second where the run's audio begins: its first chunk's offset, and where its
   * live output is placed.
   */
  beginRun(anchor: Date): number {
    this.queue = this.queue.then(() => {
      this.runAnchor = anchor;
      this.startLatency = undefined;
      this.audioBeforeRun = this.manifest.value.stats.audio_duration_seconds;
    });
    return (anchor.getTime() - this.sessionStart.getTime()) / 1000;
  }

  /** Where the audio logged so far ends on the wall clock (call once settled). */
  audioEndsAt(): Date {
    const runAudio = this.manifest.value.stats.audio_duration_seconds - this.audioBeforeRun;
    return new Date(this.runAnchor.getTime() + runAudio * 1000);
  }

  /**
   * Queues a row; rows are handled strictly in order. `alreadyLogged`: its chunk_created line is in
   * session.log already (recovery after a kill between that line and the session.json write), so
   * the chunk is only counted.
   */
  add(row: SegmentListRow, extraFields: Record<string, string | boolean> = {}, alreadyLogged = false): void {
    // One row's failure (session.json not writable) must not stop the rows after it.
    this.queue = this.queue
      .then(() => this.record(row, extraFields, alreadyLogged))
      .catch((error: unknown) => {
        this.log.error('chunk_ledger_error', { file: row.file, reason: (error as Error).message });
      });
  }

  /** Resolves once every queued row is logged and counted in session.json. */
  async settled(): Promise<void> {
    await this.queue;
    this.manifest.flush();
    await this.lastWrite;
  }

  private async record(row: SegmentListRow, extraFields: Record<string, string | boolean>, alreadyLogged: boolean): Promise<void> {
    const stats = this.manifest.value.stats;
    const offsetMs = this.runAnchor.getTime() - this.sessionStart.getTime() + (stats.audio_duration_seconds - this.audioBeforeRun) * 1000;
    // A chunk that was not whole is not counted, but keeps its place in the sequence.
    const place = {
      seq: stats.chunks + (stats.incomplete_chunks ?? 0) + 1,
      offsetSeconds: Math.round(offsetMs) / 1000,
      sessionStart: this.sessionStart,
    };
    let chunk: Chunk;
    try {
      chunk = await readChunk(row, this.dir, place);
    } catch (error) {
      // The file is listed but not whole or unreadable: say so, never count it as finished audio,
      // and keep its place in the sequence.
      const event = error instanceof IncompleteChunkError ? 'chunk_incomplete' : 'chunk_unreadable';
      this.log.error(event, { file: row.file, seq: place.seq, reason: (error as Error).message });
      await this.manifest.update((m) => (m.stats.incomplete_chunks = (m.stats.incomplete_chunks ?? 0) + 1));
      return;
    }
    if (!alreadyLogged) this.log.info('chunk_created', { ...chunkLogFields(chunk), ...extraFields });
    if (this.checkDrift && !this.driftChecked) this.noteDrift(chunk);
    // The count changes in memory at once (the next chunk's place depends on it). Neither this
    // chunk nor the next waits for session.json to reach the disk: an fsync behind other
    // processes' writes took 0.7–1.2 s, and the next row then waited for it to be logged
    // (issue 10). The writes stay in order (ManifestStore), and recovery counts chunk_created
    // lines that are ahead of session.json, which is why this write need not be fsync'd either.
    const file = row.file;
    this.lastWrite = this.manifest
      .update((m) => {
        m.stats.chunks += 1;
        addAudio(m.stats, chunk.wav);
        m.stats.bytes_on_disk = (m.stats.bytes_on_disk ?? 0) + chunk.sizeBytes;
      }, 'atomic')
      .catch((error: unknown) => this.log.error('chunk_ledger_error', { file, reason: (error as Error).message }));
    this.onChunk(chunk);
  }

  /**
   * Once per session: the audio ran ahead of or behind the wall clock by more than a second, on
   * two chunks in a row (one late chunk is a busy machine, not drift).
   */
  private noteDrift(chunk: Chunk): void {
    // The level window holds a live capture's chunk output back by up to its length (ffmpeg-args.ts): no drift.
    const lateness = (Date.now() - chunk.endTime.getTime()) / 1000 - LIVE_LEVEL_WINDOW_SECONDS;
    this.startLatency ??= Math.min(Math.max(lateness, 0), START_LATENCY_SECONDS);
    const driftSeconds = lateness - this.startLatency;
    const beyond = Math.abs(driftSeconds) > DRIFT_WARNING_SECONDS;
    const persists = beyond && this.driftSeen;
    this.driftSeen = beyond;
    if (!persists) return;
    this.driftChecked = true;
    this.log.warning('clock_drift', {
      seq: chunk.seq,
      drift_s: roundToMs(driftSeconds),
      detail:
        driftSeconds > 0
          ? 'the wall clock ran ahead of the audio (samples lost or delivered late)'
          : 'the audio ran ahead of the wall clock',
    });
  }
}

/**
 * Adds a whole chunk's audio to the stats, in sample frames: a sum of per-chunk seconds rounded to
 * the millisecond drifts (2585 chunks of 60 s reported as 59.432 s); the seconds are derived from
 * the exact sum. A session from before audio_frames starts from its seconds.
 */
export function addAudio(stats: Pick<SessionManifest['stats'], 'audio_frames' | 'audio_duration_seconds'>, wav: WavInfo): void {
  const frames = wav.dataBytes / (wav.channels * (wav.bitsPerSample / 8));
  stats.audio_frames = (stats.audio_frames ?? Math.round(stats.audio_duration_seconds * wav.sampleRate)) + frames;
  stats.audio_duration_seconds = roundToMs(stats.audio_frames / wav.sampleRate);
}

import { chunkLogFields, IncompleteChunkError, readChunk, type Chunk } from '../recorder/chunk.js';
import type { SegmentListRow } from '../recorder/segment-list.js';
import type { Logger } from '../logging/session-log.js';
import type { ManifestStore } from './session-manifest.js';

/**
 * Turns segment-list rows into chunks, in order: logs `chunk_created` and counts the chunk in
 * the manifest. The manifest's count is what recovery uses to find chunks never logged.
 */
export class ChunkLedger {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly sessionStart: Date,
    private readonly log: Logger,
    private readonly manifest: ManifestStore,
    private readonly onChunk: (chunk: Chunk) => void,
  ) {}

  /**
   * Queues a row; rows are handled strictly in order. `alreadyLogged`: its chunk_created line is in
   * session.log already (recovery after a kill between that line and the session.json write), so
   * the chunk is only counted.
   */
  add(row: SegmentListRow, extraFields: Record<string, string | boolean> = {}, alreadyLogged = false): void {
    // One row's failure (session.json not writable) must not stop the rows after it.
    this.queue = this.queue.then(() => this.record(row, extraFields, alreadyLogged)).catch((error: unknown) => {
      this.log.error('chunk_ledger_error', { file: row.file, reason: (error as Error).message });
    });
  }

  /** Resolves once every queued row is logged. */
  settled(): Promise<void> {
    return this.queue;
  }

  private async record(row: SegmentListRow, extraFields: Record<string, string | boolean>, alreadyLogged: boolean): Promise<void> {
    const stats = this.manifest.value.stats;
    const place = { seq: stats.chunks + 1, offsetSeconds: stats.audio_duration_seconds, sessionStart: this.sessionStart };
    let chunk: Chunk;
    try {
      chunk = await readChunk(row, this.dir, place);
    } catch (error) {
      // The file is listed but not whole or unreadable: say so, never count it as finished audio,
      // and keep its place in the sequence.
      const event = error instanceof IncompleteChunkError ? 'chunk_incomplete' : 'chunk_unreadable';
      this.log.error(event, { file: row.file, seq: place.seq, reason: (error as Error).message });
      await this.manifest.update((m) => (m.stats.chunks = place.seq));
      return;
    }
    if (!alreadyLogged) this.log.info('chunk_created', { ...chunkLogFields(chunk), ...extraFields });
    // The count changes in memory at once (the next chunk's place depends on it); the chunk goes
    // on without waiting for session.json to reach the disk, and a failed write does not hold it back.
    const written = this.manifest.update((m) => {
      m.stats.chunks = chunk.seq;
      m.stats.audio_duration_seconds = chunk.offsetSeconds + chunk.durationSeconds;
      m.stats.bytes_on_disk = (m.stats.bytes_on_disk ?? 0) + chunk.sizeBytes;
    });
    this.onChunk(chunk);
    await written;
  }
}

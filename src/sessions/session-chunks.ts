import path from 'node:path';
import { readChunk, type Chunk } from '../recorder/chunk.js';
import { SEGMENT_LIST_NAME } from '../recorder/ffmpeg-args.js';
import { readSegmentList } from '../recorder/segment-list-watcher.js';

/** The session's finished chunks from its segment list, placed like ChunkLedger places them. */
export async function readChunks(sessionDir: string, sessionStart: Date): Promise<Chunk[]> {
  const rows = await readSegmentList(path.join(sessionDir, SEGMENT_LIST_NAME));
  const chunks: Chunk[] = [];
  let offsetSeconds = 0;
  for (const [index, row] of rows.entries()) {
    // segments.csv is read from disk: a row naming anything but a file in this folder is not a chunk.
    if (path.basename(row.file) !== row.file || !row.file.endsWith('.wav')) continue;
    try {
      const chunk = await readChunk(row, sessionDir, { seq: index + 1, offsetSeconds, sessionStart });
      chunks.push(chunk);
      offsetSeconds += chunk.durationSeconds;
    } catch {
      // Unreadable (logged as chunk_unreadable when recorded): nothing to transcribe, keeps its seq.
    }
  }
  return chunks;
}


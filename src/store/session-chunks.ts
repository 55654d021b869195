import path from 'node:path';
import { readChunk, type Chunk } from '../recorder/chunk.js';
import { gatherManifestEvidence } from './manifest-rebuild.js';

/**
 * The session's finished chunks from all its segment lists (one per ffmpeg run), where the
 * recording placed them: at the `offset_s` of their chunk_created line (the wall clock, gaps of
 * restarts included), else right after the chunk before.
 */
export async function readChunks(sessionDir: string, sessionStart: Date): Promise<Chunk[]> {
  const { rows, logged } = await gatherManifestEvidence(sessionDir);
  const chunks: Chunk[] = [];
  let offsetSeconds = 0;
  for (const [index, row] of rows.entries()) {
    // A segment list is read from disk: a row naming anything but a file in this folder is not a chunk.
    if (path.basename(row.file) !== row.file || !row.file.endsWith('.wav')) continue;
    offsetSeconds = logged.get(row.file)?.offsetSeconds ?? offsetSeconds;
    try {
      const chunk = await readChunk(row, sessionDir, { seq: index + 1, offsetSeconds, sessionStart });
      chunks.push(chunk);
      offsetSeconds += chunk.durationSeconds;
    } catch {
      // Unreadable or not whole (logged when recorded): nothing to transcribe or export, keeps its seq.
    }
  }
  return chunks;
}

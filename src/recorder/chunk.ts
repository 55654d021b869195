import path from 'node:path';
import type { SegmentListRow } from './segment-list.js';
import { parseWavHeader, wavDurationSeconds, wavSizeMismatch, type WavInfo } from './wav-header.js';
import { readWavProbeOfFile } from './wav-file.js';

/** A finished chunk: final on disk (its segment-list row is written), with its true place in time. */
export interface Chunk {
  seq: number;
  file: string;
  path: string;
  sizeBytes: number;
  /** From the WAV data size: the true length, unlike the list's timestamps for a live device. */
  durationSeconds: number;
  /** Seconds from session start: the sum of the true durations of the chunks before it. */
  offsetSeconds: number;
  startTime: Date;
  endTime: Date;
  wav: WavInfo;
}

export interface ChunkPlacement {
  seq: number;
  offsetSeconds: number;
  sessionStart: Date;
}

/** Pure: a chunk's facts from its list row, header and size, placed after the chunks before it. */
export function describeChunk(row: SegmentListRow, dir: string, wav: WavInfo, sizeBytes: number, place: ChunkPlacement): Chunk {
  const durationSeconds = wavDurationSeconds(wav);
  const startMs = place.sessionStart.getTime() + place.offsetSeconds * 1000;
  return {
    seq: place.seq,
    file: row.file,
    path: path.join(dir, row.file),
    sizeBytes,
    durationSeconds,
    offsetSeconds: place.offsetSeconds,
    startTime: new Date(startMs),
    endTime: new Date(startMs + durationSeconds * 1000),
    wav,
  };
}

/** A listed chunk whose header disagrees with its size: ffmpeg could not finish writing it. */
export class IncompleteChunkError extends Error {}

/** Reads a finished chunk's header and size from disk; rejects a chunk that is not whole. */
export async function readChunk(row: SegmentListRow, dir: string, place: ChunkPlacement): Promise<Chunk> {
  const { probe, size } = await readWavProbeOfFile(path.join(dir, row.file));
  const wav = parseWavHeader(probe);
  const mismatch = wavSizeMismatch(wav, size);
  if (mismatch) throw new IncompleteChunkError(mismatch);
  return describeChunk(row, dir, wav, size, place);
}

export function chunkLogFields(chunk: Chunk): Record<string, string | number> {
  return {
    file: chunk.file,
    seq: chunk.seq,
    start: chunk.startTime.toISOString(),
    end: chunk.endTime.toISOString(),
    offset_s: chunk.offsetSeconds,
    duration_s: chunk.durationSeconds,
    size_bytes: chunk.sizeBytes,
  };
}

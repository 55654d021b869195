import { parseLogLine, type ParsedLogLine } from '../logging/line-format.js';
import type { SegmentListRow } from '../recorder/segment-list.js';
import { chunkNumberOf } from '../recorder/chunk-name.js';

/**
 * Whether a session's audio is one unbroken stretch: what `sessions show` reports as chunk
 * continuity. Pure, from segments.csv, the chunk files on disk and session.log.
 */
export interface Continuity {
  /** Chunks ffmpeg finished (rows of segments.csv). */
  listed: number;
  /** Chunk numbers missing between the first and the last finished chunk. */
  missing: number[];
  /** Chunk files on disk that ffmpeg never finished (not in segments.csv). */
  unfinished: string[];
  /** Places where the stream's time jumps between one chunk's end and the next chunk's start. */
  gaps: Array<{ after: string; before: string; seconds: number }>;
  /** Times ffmpeg was started again within the session (ffmpeg_started lines after the first). */
  restarts: number;
  /** Chunks logged as incomplete or unreadable: listed, but not audio. */
  broken: string[];
}

/** A jump in the stream's timestamps smaller than this is rounding, not lost audio. */
const GAP_TOLERANCE_S = 0.01;

export function analyzeContinuity(
  rows: readonly SegmentListRow[],
  chunkFiles: readonly string[],
  log: readonly ParsedLogLine[],
): Continuity {
  const numbers = rows.flatMap((row) => chunkNumberOf(row.file) ?? []).filter((n) => Number.isSafeInteger(n));
  const present = new Set(numbers);
  const missing: number[] = [];
  if (numbers.length > 0) for (let n = Math.min(...numbers); n < Math.max(...numbers); n++) if (!present.has(n)) missing.push(n);
  const listedFiles = new Set(rows.map((row) => row.file));
  const gaps = rows.slice(1).flatMap((row, i) => {
    const seconds = row.start - rows[i]!.end;
    return Math.abs(seconds) > GAP_TOLERANCE_S ? [{ after: rows[i]!.file, before: row.file, seconds: Number(seconds.toFixed(3)) }] : [];
  });
  const started = log.filter((line) => line.message === 'ffmpeg_started').length;
  return {
    listed: rows.length,
    missing,
    unfinished: chunkFiles.filter((file) => !listedFiles.has(file)),
    gaps,
    restarts: Math.max(0, started - 1),
    broken: log
      .filter((line) => line.message === 'chunk_incomplete' || line.message === 'chunk_unreadable')
      .map((line) => line.fields.file ?? '?'),
  };
}

/** The last `count` WARNING and ERROR lines, as written, in log order. */
export function lastProblems(lines: readonly string[], count: number): string[] {
  return lines.filter((line) => / (WARNING|ERROR) /.test(line) && /^(WARNING|ERROR)$/.test(parseLogLine(line)?.level ?? '')).slice(-count);
}

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/session-log.js';
import type { SegmentListRow } from '../recorder/segment-list.js';
import { readSegmentList } from '../recorder/segment-list-watcher.js';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader, wavDurationSeconds, type WavInfo } from '../recorder/wav-header.js';
import { chunkNumberOf } from '../recorder/chunk-name.js';
import type { ListedFiles } from '../recorder/listed-chunks.js';

/**
 * The chunk an ffmpeg run was writing when it died (kill -9, a crash): its header still holds
 * placeholder sizes, and no segment list names it. It is repaired (the RIFF and data sizes
 * rewritten from the whole samples actually present) or, with no audio in it, set aside as
 * `<name>.torn` so that nothing takes it for a chunk.
 */
export type TornChunkFix =
  { action: 'repair'; dataBytes: number; fileBytes: number; durationSeconds: number } | { action: 'set_aside'; reason: string };

/** Pure: what to do with a torn chunk, from its header (undefined: unreadable) and its size. */
export function planTornChunkFix(wav: WavInfo | undefined, sizeBytes: number): TornChunkFix {
  if (!wav) return { action: 'set_aside', reason: `no WAV header in its ${sizeBytes} bytes` };
  const frame = wav.channels * (wav.bitsPerSample / 8);
  const dataBytes = Math.floor(Math.max(0, sizeBytes - wav.dataOffset) / frame) * frame;
  if (dataBytes === 0) return { action: 'set_aside', reason: 'no audio after its header' };
  return { action: 'repair', dataBytes, fileBytes: wav.dataOffset + dataBytes, durationSeconds: wavDurationSeconds({ ...wav, dataBytes }) };
}

/** The chunk files in `dir` numbered `from` or above, whether or not a list names them. */
export async function chunkFilesFrom(dir: string, from: number): Promise<string[]> {
  const names = await fs.readdir(dir);
  return names.filter((name) => (chunkNumberOf(name) ?? -1) >= from).sort();
}

/** The number the next run's first chunk gets: one past every chunk file so far, torn ones included. */
export async function nextChunkNumber(dir: string): Promise<number> {
  const names = await fs.readdir(dir);
  return names.reduce((next, name) => {
    const number = chunkNumberOf(name.replace(/\.torn$/, ''));
    return number === undefined ? next : Math.max(next, number + 1);
  }, 1);
}

/** Repairs or sets aside one torn chunk file; returns what was done. */
export async function fixTornChunk(file: string): Promise<TornChunkFix> {
  const handle = await fs.open(file, 'r+');
  let fix: TornChunkFix;
  try {
    const { probe, size } = await readWavProbe(handle);
    let wav: WavInfo | undefined;
    try {
      wav = parseWavHeader(probe);
    } catch {
      wav = undefined;
    }
    fix = planTornChunkFix(wav, size);
    if (fix.action === 'repair' && wav) {
      const sizes = Buffer.alloc(4);
      sizes.writeUInt32LE(fix.fileBytes - 8);
      await handle.write(sizes, 0, 4, 4);
      sizes.writeUInt32LE(fix.dataBytes);
      await handle.write(sizes, 0, 4, wav.dataOffset - 4);
      await handle.truncate(fix.fileBytes);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
  if (fix.action === 'set_aside') await fs.rename(file, `${file}.torn`);
  return fix;
}

export function tornName(file: string): string {
  return `${path.basename(file)}.torn`;
}

export interface RepairOptions {
  /** Chunk files numbered from here on are looked at (a run's first chunk; 1 for the whole session). */
  from: number;
  /** Files a segment list already names: final, not torn. */
  listed: ListedFiles;
  /** The segment list a repaired chunk's row is appended to (the run's own). */
  listName: string;
  logger: Logger;
}

/**
 * The one repair of torn chunks, for the live path (after an ffmpeg run died) and for recovery
 * (after echolog died with its ffmpeg): each chunk file no list names is repaired (logged
 * `chunk_repaired`) and gets a row in `listName` — a row means final — placed right after the
 * list's last row, so the stream's time runs on without a jump; or it is set aside. Returns the
 * rows added, in order, for the chunk ledger.
 */
export async function repairUnlistedChunks(dir: string, options: RepairOptions): Promise<SegmentListRow[]> {
  const { logger } = options;
  const files = (await chunkFilesFrom(dir, options.from).catch(() => [])).filter((file) => !options.listed.has(file));
  const rows: SegmentListRow[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    try {
      const fix = await fixTornChunk(full);
      if (fix.action === 'set_aside') {
        logger.warning('chunk_set_aside', { file, renamed_to: tornName(full), reason: fix.reason });
        continue;
      }
      logger.warning('chunk_repaired', {
        file,
        duration_s: fix.durationSeconds,
        size_bytes: fix.fileBytes,
        detail: 'header sizes rewritten from the audio present',
      });
      const list = path.join(dir, options.listName);
      const start = (await readSegmentList(list)).at(-1)?.end ?? 0;
      const row = { file, start, end: start + fix.durationSeconds };
      await fs.appendFile(list, `${file},${row.start.toFixed(6)},${row.end.toFixed(6)}\n`, { mode: 0o600 });
      rows.push(row);
    } catch (error) {
      logger.error('chunk_unrepairable', { file, reason: (error as Error).message });
    }
  }
  return rows;
}

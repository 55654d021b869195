import fs from 'node:fs/promises';
import path from 'node:path';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader, wavDurationSeconds, type WavInfo } from '../recorder/wav-header.js';
import { chunkNumberOf } from '../recorder/chunk-name.js';

/**
 * The chunk an ffmpeg run was writing when it died (kill -9, a crash): its header still holds
 * placeholder sizes, and no segment list names it. It is repaired (the RIFF and data sizes
 * rewritten from the whole samples actually present) or, with no audio in it, set aside as
 * `<name>.torn` so that nothing takes it for a chunk.
 */
export type TornChunkFix =
  | { action: 'repair'; dataBytes: number; fileBytes: number; durationSeconds: number }
  | { action: 'set_aside'; reason: string };

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

import fs from 'node:fs/promises';
import path from 'node:path';
import { ManagedProcess } from '../process/managed-process.js';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader, type WavInfo } from '../recorder/wav-header.js';
import { engineFailureTail } from '../transcription/pocketsphinx-engine.js';

/** What every hosted engine takes: 16 kHz mono signed 16-bit little-endian PCM. */
export const ENGINE_SAMPLE_RATE = 16000;
const BYTES_PER_SECOND = ENGINE_SAMPLE_RATE * 2;

/** The seed's filter: audio shorter than this is answered with `results: []` at once. */
export const MIN_AUDIO_SECONDS = 0.15;

export function pcmSeconds(bytes: number): number {
  return bytes / BYTES_PER_SECOND;
}

/**
 * Where the samples are when a WAV is already in the engine's format (echolog's own chunks,
 * the seed's clients): no ffmpeg needed, which keeps a request's overhead at a file read.
 * A header with placeholder sizes (a writer that did not finalize it) is read to the end of the
 * file. undefined: ffmpeg converts it. Pure.
 */
export function engineFormatSpan(info: WavInfo, fileBytes: number): { start: number; end: number } | undefined {
  if (info.sampleRate !== ENGINE_SAMPLE_RATE || info.channels !== 1 || info.bitsPerSample !== 16) return undefined;
  const end = Math.min(fileBytes, info.dataOffset + info.dataBytes);
  // Whole samples only.
  return { start: info.dataOffset, end: end - ((end - info.dataOffset) % 2) };
}

export class AudioInputError extends Error {}

/**
 * The request's audio as engine PCM. The file must be a regular file (a FIFO would block the
 * daemon, a device never ends); a missing or unreadable one is an AudioInputError whose message
 * goes into the response's `error`.
 */
export async function readEngineAudio(file: string, ffmpegPath: string): Promise<Buffer> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AudioInputError(code === 'ENOENT' || code === 'ENOTDIR' ? `Audio file not found: ${file}` : `Audio file not readable: ${file} (${code ?? (error as Error).message})`);
  }
  if (!stat.isFile()) throw new AudioInputError(`Audio file is not a regular file: ${file}`);
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    throw new AudioInputError(`Audio file not readable: ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const { probe } = await readWavProbe(handle, stat.size);
    let span: { start: number; end: number } | undefined;
    try {
      span = engineFormatSpan(parseWavHeader(probe), stat.size);
    } catch {
      span = undefined; // not a plain WAV: ffmpeg reads it
    }
    if (span) {
      const pcm = Buffer.alloc(Math.max(0, span.end - span.start));
      await handle.read(pcm, 0, pcm.length, span.start);
      return pcm;
    }
  } finally {
    await handle.close();
  }
  return convertWithFfmpeg(file, ffmpegPath);
}

/** Any format ffmpeg reads → 16 kHz mono s16le on its stdout. */
async function convertWithFfmpeg(file: string, ffmpegPath: string): Promise<Buffer> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-vn', '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '1', '-ar', String(ENGINE_SAMPLE_RATE), 'pipe:1'];
  const child = await ManagedProcess.start(ffmpegPath, args);
  const parts: Buffer[] = [];
  const stderr: string[] = [];
  child.child.stdout?.on('data', (data: Buffer) => parts.push(data));
  child.onLines('stderr', (line) => stderr.push(line));
  const exit = await child.exited;
  if (exit.code !== 0) {
    const tail = engineFailureTail(stderr);
    throw new AudioInputError(`Audio file not readable by ${path.basename(ffmpegPath)}: ${file}${tail.length > 0 ? ` (${tail.join(' | ')})` : ''}`);
  }
  return Buffer.concat(parts);
}

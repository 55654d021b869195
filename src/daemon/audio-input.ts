import { constants as fsConstants } from 'node:fs';
import { howExited } from '../process/describe-exit.js';
import fs, { type FileHandle } from 'node:fs/promises';
import { AudioDecodeError, decodePieces, isEngineFormat, readFilePieces, type EngineAudioFormat } from '../audio/engine-audio.js';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader, type WavInfo } from '../recorder/wav-header.js';

/** What every hosted engine takes: 16 kHz mono signed 16-bit little-endian PCM. */
export const ENGINE_SAMPLE_RATE = 16000;

/** The seed's filter: audio shorter than this is answered with `results: []` at once. */
export const MIN_AUDIO_SECONDS = 0.15;

export function pcmSeconds(bytes: number, sampleRate = ENGINE_SAMPLE_RATE): number {
  return bytes / (sampleRate * 2);
}

/**
 * Where the samples are when a WAV is already in the engine's format (echolog's own chunks,
 * the seed's clients): no ffmpeg needed, which keeps a request's overhead at a file read.
 * A header with placeholder sizes (a writer that did not finalize it) is read to the end of the
 * file. undefined: ffmpeg converts it. Pure.
 */
export function engineFormatSpan(
  info: WavInfo,
  fileBytes: number,
  format: EngineAudioFormat = { sampleRate: ENGINE_SAMPLE_RATE },
): { start: number; end: number } | undefined {
  if (!isEngineFormat(info, format)) return undefined;
  const end = Math.min(fileBytes, info.dataOffset + info.dataBytes);
  // Whole samples only.
  return { start: info.dataOffset, end: end - ((end - info.dataOffset) % 2) };
}

export class AudioInputError extends Error {}

/**
 * The request's audio in the engine's format, in bounded pieces (any size: nothing holds more
 * than a piece). The file is opened once and judged on that descriptor, which is then all that
 * is read: a file or FIFO swapped in under the path later is never seen. It must be a regular
 * file (a FIFO would block the daemon, a device never ends); O_NONBLOCK keeps the open itself
 * from waiting for a FIFO's writer. A symlinked path is followed on purpose: the seed's clients
 * may name their audio through one, and the daemon only reads it. A missing or unreadable file
 * is an AudioInputError whose message goes into the response's `error`. A WAV already in the
 * engine's format is read as it is; anything else is decoded by ffmpeg from the same open file
 * (`/proc/<pid>/fd/<n>`: that inode, whatever the path names by then), and a file ffmpeg
 * cannot read fails with AudioDecodeError. The file stays open until the pieces end or are
 * closed: iterate them (readAhead does at once).
 */
export async function openEngineAudio(
  file: string,
  ffmpegPath: string,
  format: EngineAudioFormat,
  signal?: AbortSignal,
): Promise<AsyncIterable<Buffer>> {
  let handle;
  try {
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AudioInputError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `Audio file not found: ${file}`
        : `Audio file not readable: ${file} (${code ?? (error as Error).message})`,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AudioInputError(`Audio file is not a regular file: ${file}`);
    let span: { start: number; end: number } | undefined;
    try {
      const { probe } = await readWavProbe(handle, stat.size);
      span = engineFormatSpan(parseWavHeader(probe), stat.size, format);
    } catch {
      span = undefined; // not a plain WAV: ffmpeg reads it
    }
    const pieces = span
      ? readFilePieces(handle, span.start, span.end, { signal })
      : decodePieces(ffmpegPath, file, format, { signal, inputPath: `/proc/${process.pid}/fd/${handle.fd}` });
    return closingWhenDone(pieces, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** `pieces`, then `handle` closed (at their end, a failure, or a `return`). */
async function* closingWhenDone(pieces: AsyncIterable<Buffer>, handle: FileHandle): AsyncGenerator<Buffer> {
  try {
    yield* pieces;
  } finally {
    await handle.close();
  }
}

export interface AudioAhead {
  /** Bytes read ahead (all of the audio when `ended`). */
  bytes: number;
  ended: boolean;
  /** The whole audio: what was read ahead, then the rest. */
  pieces: AsyncIterable<Buffer>;
  /** Ends the reading (and its ffmpeg) wherever it is; nothing is left running. */
  close(): Promise<void>;
}

/**
 * Reads the first `bytes` of the audio (or all of it, if shorter), so that too-short audio and a
 * file ffmpeg cannot decode are answered before the engine sees anything.
 */
export async function readAhead(source: AsyncIterable<Buffer>, bytes: number): Promise<AudioAhead> {
  const iterator = source[Symbol.asyncIterator]();
  const ahead: Buffer[] = [];
  let read = 0;
  let ended = false;
  while (read < bytes) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (error) {
      if (error instanceof AudioDecodeError)
        throw new AudioInputError(
          `Audio file not readable by ${error.program}: ${error.file} (${error.errorLines.join(' | ') || howExited(error.exit)})`,
        );
      throw error;
    }
    if (next.done) {
      ended = true;
      break;
    }
    ahead.push(next.value);
    read += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* ahead.splice(0);
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { bytes: read, ended, pieces: all(), close: async () => void (await iterator.return?.()) };
}

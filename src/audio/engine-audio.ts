import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal } from 'node:stream';
import { ManagedProcess, type ProcessExit } from '../process/managed-process.js';
import { describeExit } from '../process/describe-exit.js';
import { FFMPEG_EXIT_MEANINGS } from '../recorder/ffmpeg-stderr.js';
import { LevelMeter, type AudioLevel } from './audio-level.js';

/**
 * The audio an engine takes, made from a recorded file in bounded pieces: never a whole chunk,
 * file or request in memory. Every engine here takes 16-bit little-endian mono PCM at its own
 * rate (pocketsphinx and whisper: 16 kHz). A file already in that format is read as it is; any
 * other is decoded by ffmpeg (`-ar <rate> -ac 1 -f s16le`), which resamples and downmixes far
 * better than JavaScript would. The files themselves stay as the user recorded them.
 */
export interface EngineAudioFormat {
  /** Samples per second of the mono s16le PCM the engine takes. */
  sampleRate: number;
}

/** The most bytes one piece holds: 2 s of 16 kHz audio; a read never holds more than one. */
export const PIECE_BYTES = 64 * 1024;

/** Where a PCM file's samples are and how they are laid out (a WavInfo has these). */
export interface PcmLayout {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  dataOffset: number;
  dataBytes: number;
}

export interface PieceOptions {
  /** At most this many bytes per piece (default PIECE_BYTES); always even: whole samples. */
  pieceBytes?: number;
  /** Checked between pieces: an abort ends the reading (and ffmpeg) with the signal's reason. */
  signal?: AbortSignal;
}

/** ffmpeg could not decode the file: its message names the file and ffmpeg's own words. */
export class AudioDecodeError extends Error {
  constructor(
    readonly program: string,
    readonly file: string,
    readonly exit: ProcessExit,
    /** Its last stderr lines: at `-loglevel error` each one is an error. */
    readonly errorLines: readonly string[],
  ) {
    super(
      `could not decode ${file}: ${describeExit(program, exit, errorLines, { isFailureLine: () => true, meanings: FFMPEG_EXIT_MEANINGS })}`,
    );
  }
}

export function isEngineFormat(layout: Pick<PcmLayout, 'sampleRate' | 'channels' | 'bitsPerSample'>, format: EngineAudioFormat): boolean {
  return layout.sampleRate === format.sampleRate && layout.channels === 1 && layout.bitsPerSample === 16;
}

/**
 * The bytes [start, end) of `file`, read in pieces of at most `pieceBytes`, whole samples only.
 * An open FileHandle (a file already judged on its descriptor) is read as it is and left open:
 * its opener closes it.
 */
export async function* readFilePieces(
  file: string | FileHandle,
  start: number,
  end: number,
  options: PieceOptions = {},
): AsyncGenerator<Buffer> {
  const pieceBytes = evenPieceBytes(options.pieceBytes);
  const last = end - ((end - start) % 2);
  const handle = typeof file === 'string' ? await fs.open(file, 'r') : file;
  try {
    for (let at = start; at < last;) {
      options.signal?.throwIfAborted();
      const piece = Buffer.alloc(Math.min(pieceBytes, last - at));
      const { bytesRead } = await handle.read(piece, 0, piece.length, at);
      // The file is shorter than it said (truncated meanwhile): what was there is all there is.
      if (bytesRead === 0) return;
      const whole = bytesRead - (bytesRead % 2);
      at += whole;
      if (whole > 0) yield piece.subarray(0, whole);
      if (whole < piece.length) return;
    }
  } finally {
    if (handle !== file) await handle.close();
  }
}

export interface DecodeOptions extends PieceOptions {
  /** What ffmpeg opens, when not `file` itself (an open descriptor's `/proc/<pid>/fd/<n>`); errors still name `file`. */
  inputPath?: string;
}

/**
 * The ffmpeg arguments that decode `file` to the engine's format on stdout. Pure.
 * `-flush_packets 0`: ffmpeg fills its 32 KiB output buffer before each write, rather than one
 * write per packet (682 bytes after 48 → 16 kHz), which made each chunk hundreds of pieces.
 */
export function engineDecodeArgs(file: string, format: EngineAudioFormat): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    file,
    '-vn',
    '-ac',
    '1',
    '-ar',
    String(format.sampleRate),
    '-c:a',
    'pcm_s16le',
    '-flush_packets',
    '0',
    '-f',
    's16le',
    'pipe:1',
  ];
}

/**
 * `file` (anything ffmpeg reads) decoded to the engine's format, in pieces of at most
 * `pieceBytes`. ffmpeg writes only as fast as we read (the pipe fills), so memory stays at one
 * piece. Stopping early (a `break`, an abort) ends ffmpeg; a failed decode throws AudioDecodeError.
 */
export async function* decodePieces(
  ffmpegPath: string,
  file: string,
  format: EngineAudioFormat,
  options: DecodeOptions = {},
): AsyncGenerator<Buffer> {
  const pieceBytes = evenPieceBytes(options.pieceBytes);
  const child = await ManagedProcess.start(ffmpegPath, engineDecodeArgs(options.inputPath ?? file, format));
  const stderr = child.lastLines('stderr', 3);
  const stdout = child.child.stdout!;
  if (options.signal) addAbortSignal(options.signal, stdout);
  let finished = false;
  try {
    let carry: Buffer | undefined;
    try {
      for await (const data of stdout as AsyncIterable<Buffer>) {
        let bytes = carry ? Buffer.concat([carry, data]) : data;
        carry = undefined;
        if (bytes.length % 2 !== 0) {
          carry = Buffer.from(bytes.subarray(bytes.length - 1));
          bytes = bytes.subarray(0, bytes.length - 1);
        }
        for (let at = 0; at < bytes.length; at += pieceBytes) yield bytes.subarray(at, Math.min(bytes.length, at + pieceBytes));
      }
    } catch (error) {
      // The stream says only "aborted": the caller's reason says why.
      throw options.signal?.aborted ? options.signal.reason : error;
    }
    const exit = await child.exited;
    finished = true;
    if (exit.code !== 0) {
      throw new AudioDecodeError(path.basename(ffmpegPath), file, exit, stderr);
    }
  } finally {
    if (!finished) {
      // Our end of the pipe closed first: ffmpeg's next write fails and it exits at once.
      stdout.destroy();
      await child.stop({ stepTimeoutMs: 1000 });
    }
  }
}

/**
 * A recorded file's audio in the engine's format: its own samples when it already is (no
 * process at all), else ffmpeg's decode of it.
 */
export function engineAudioPieces(
  file: string,
  layout: PcmLayout,
  format: EngineAudioFormat,
  ffmpegPath: string,
  options: PieceOptions = {},
): AsyncGenerator<Buffer> {
  return isEngineFormat(layout, format)
    ? readFilePieces(file, layout.dataOffset, layout.dataOffset + layout.dataBytes, options)
    : decodePieces(ffmpegPath, file, format, options);
}

/** The level of a 16-bit PCM file's samples, read in bounded pieces (the silence gate, `status`). */
export async function measureFileLevel(file: string, layout: PcmLayout, options: PieceOptions = {}): Promise<AudioLevel> {
  const meter = new LevelMeter(layout.sampleRate, layout.channels);
  for await (const piece of readFilePieces(file, layout.dataOffset, layout.dataOffset + layout.dataBytes, options)) meter.push(piece);
  return meter.level();
}

function evenPieceBytes(bytes = PIECE_BYTES): number {
  return Math.max(2, bytes - (bytes % 2));
}

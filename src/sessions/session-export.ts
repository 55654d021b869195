import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EchologError, ExitCode, UsageError } from '../errors.js';
import { FfmpegExitError } from '../recorder/ffmpeg-exit-error.js';
import { takeStopSignals } from '../process/stop-signals.js';
import { syncDir, writeFileDurable } from '../files/durable-write.js';
import { ManagedProcess, type ProcessExit } from '../process/managed-process.js';
import type { Chunk } from '../recorder/chunk.js';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader, wavSizeMismatch } from '../recorder/wav-header.js';
import { roundToMs } from '../round-seconds.js';
import {
  buildTranscript,
  formatJson,
  formatSrt,
  formatTxt,
  formatVtt,
  type TranscriptDocument,
  type TranscriptLine,
} from '../transcription/transcript/transcript-formats.js';

/**
 * `echolog sessions export`: a session's chunks (or a resume chain's) joined into one audio file
 * with ffmpeg's concat demuxer, and its transcript in one of the transcript formats. The argv and
 * the concat list are pure functions; the output appears whole or not at all (a temp file beside
 * it, renamed once ffmpeg succeeded).
 */
/** At -loglevel error every stderr line is an error (untagged): the last ones are the message. */
const ERROR_LINES = 20;

export const AUDIO_FORMATS = ['wav', 'flac', 'mp3'] as const;
export const TRANSCRIPT_FORMATS = ['srt', 'vtt', 'txt', 'json'] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** The format an output file's extension asks for, or a usage error naming the allowed ones. */
export function formatOfFile<T extends string>(file: string, allowed: readonly T[], flag: string): T {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (!(allowed as readonly string[]).includes(ext))
    throw new UsageError(
      `${flag} ${JSON.stringify(file)} is not allowed: the file name must end in ${allowed.map((a) => `.${a}`).join(', ')}`,
    );
  return ext as T;
}

/**
 * The concat demuxer's list (https://ffmpeg.org/ffmpeg-formats.html#concat-1): one `file` line per
 * chunk, the path single-quoted with `'` written as `'\''`, so any path is taken literally.
 */
export function formatConcatList(files: readonly string[]): string {
  return `ffconcat version 1.0\n${files.map((file) => `file '${file.replaceAll("'", "'\\''")}'\n`).join('')}`;
}

/**
 * WAV: the PCM is copied, sample for sample. FLAC is lossless. MP3 is re-encoded (LAME adds its
 * encoder delay, which its header tells decoders to skip). `-f` names the muxer: the temp file's
 * name does not end in the format's extension.
 */
export function buildExportArgs(listFile: string, format: AudioFormat, output: string): string[] {
  const codec = { wav: ['-c', 'copy'], flac: ['-c:a', 'flac'], mp3: ['-c:a', 'libmp3lame', '-q:a', '2'] }[format];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    listFile,
    ...codec,
    '-f',
    format,
    '-y',
    output,
  ];
}

/** The concat demuxer needs one stream layout: chunks of different rates or channels (a chain recorded with other settings) are refused. */
export function checkSameLayout(chunks: readonly Chunk[]): void {
  const first = chunks[0];
  const other = chunks.find(
    (c) =>
      c.wav.sampleRate !== first?.wav.sampleRate ||
      c.wav.channels !== first.wav.channels ||
      c.wav.bitsPerSample !== first.wav.bitsPerSample,
  );
  if (first && other) {
    throw new UsageError(
      `cannot join ${first.path} (${first.wav.sampleRate} Hz, ${first.wav.channels} ch) and ` +
        `${other.path} (${other.wav.sampleRate} Hz, ${other.wav.channels} ch) into one file: export the sessions one at a time`,
    );
  }
}

export interface ExportAudioOptions {
  ffmpegPath: string;
  chunks: readonly Chunk[];
  format: AudioFormat;
  target: ExportTarget;
}

/**
 * Joins the chunks into the target; resolves with the audio's length (the sum of the chunks').
 * The temp file, its concat list and the rename all go through the judged folder's descriptor
 * (ffmpeg, a child, writes `/proc/<echolog pid>/fd/<n>/<temp>`: that same folder).
 */
export async function exportAudio(options: ExportAudioOptions): Promise<number> {
  const output = options.target.file;
  if (options.chunks.length === 0) throw new UsageError(`nothing to export to ${output}: the session has no finished chunks`);
  checkSameLayout(options.chunks);
  const name = path.basename(output);
  const temporary = options.target.inFolder(`${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const listFile = `${temporary}.ffconcat`;
  // The concat list is read line by line: a folder whose path holds a newline could not be named
  // in it. Each session folder is opened once and its chunks named through the descriptor.
  const folders = new Map<string, FileHandle>();
  try {
    for (const dir of new Set(options.chunks.map((c) => path.dirname(c.path))))
      folders.set(dir, await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY));
    const listed = options.chunks.map((c) => `/proc/${process.pid}/fd/${folders.get(path.dirname(c.path))!.fd}/${path.basename(c.path)}`);
    await fs.writeFile(listFile, formatConcatList(listed), { mode: 0o600 });
    const ffmpeg = await ManagedProcess.start(options.ffmpegPath, buildExportArgs(listFile, options.format, temporary));
    const stderr = ffmpeg.lastLines('stderr', ERROR_LINES);
    const stopped = await untilExitOrSignal(ffmpeg);
    if (stopped.signal) throw new ExportInterruptedError(stopped.signal, output);
    const exit = stopped.exit;
    if (exit.code !== 0) throw new FfmpegExitError(exit.code, exit.signal, stderr);
    // ffmpeg 5 exits 0 when it cannot write a file's trailer (a full disk), saying so only on
    // stderr — and for a copied WAV not even there: at -loglevel error any line is a failure,
    // and a WAV is checked against the chunks.
    if (stderr.length > 0) throw new ExportError(`ffmpeg could not write ${output}:\n  ${stderr.join('\n  ')}`);
    if (options.format === 'wav') await checkJoinedWav(temporary, options.chunks, output);
    // ffmpeg does not fsync: the file is on disk before its name is.
    const handle = await fs.open(temporary, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, options.target.inFolder(name));
    await syncDir(options.target.inFolder('.'));
  } finally {
    await fs.rm(temporary, { force: true });
    await fs.rm(listFile, { force: true });
    for (const folder of folders.values()) await folder.close();
  }
  return options.chunks.reduce((sum, c) => sum + c.durationSeconds, 0);
}

/** The joined WAV is whole and holds exactly the chunks' audio, or an ExportError says what it holds. */
export async function checkJoinedWav(file: string, chunks: readonly Chunk[], output: string): Promise<void> {
  const expected = chunks.reduce((sum, c) => sum + c.wav.dataBytes, 0);
  const handle = await fs.open(file, 'r');
  try {
    const { probe, size } = await readWavProbe(handle);
    let problem: string | undefined;
    try {
      const info = parseWavHeader(probe);
      problem =
        wavSizeMismatch(info, size) ??
        (info.dataBytes === expected ? undefined : `it holds ${info.dataBytes} bytes of audio, the chunks ${expected}`);
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem) throw new ExportError(`ffmpeg did not write all of ${output} (${problem}; is the disk full?); nothing was exported`);
  } finally {
    await handle.close();
  }
}

/** An export that did not produce its whole file: nothing was written in its place. */
export class ExportError extends EchologError {}

/**
 * An export file's folder, opened once and judged on that descriptor: everything the export
 * writes reaches the folder through it, so a folder swapped in on the path afterwards (a symlink
 * into a session folder) is never written.
 */
export interface ExportTarget {
  /** The file as the user named it (messages). */
  file: string;
  /** `name` in the judged folder, for echolog and its children: `/proc/<echolog pid>/fd/<n>/<name>`. */
  inFolder(name: string): string;
  close(): Promise<void>;
}

/**
 * Refuses an export target before anything is written: a folder, a folder that does not exist
 * (exit 1: the export cannot happen there), an existing file without `force`, and — even with
 * `force` — any place inside the recordings dir (exit 2): an export never writes into a session
 * folder, where `--force` onto a chunk would destroy the recording. The open folder is judged by
 * its real path (the kernel's, of the descriptor), so a symlink on the way does not hide where
 * the file would land. The caller closes the target.
 */
export async function checkExportTarget(file: string, recordingsDir: string, force: boolean): Promise<ExportTarget> {
  const parent = path.dirname(file);
  const handle = await fs.open(parent, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY).catch((error: NodeJS.ErrnoException) => {
    const why =
      error.code === 'ENOENT'
        ? 'does not exist'
        : error.code === 'ENOTDIR'
          ? 'is not a folder'
          : `cannot be used (${error.code ?? error.message})`;
    throw new ExportError(`cannot export to ${file}: its folder ${parent} ${why}; nothing was exported`);
  });
  const folder = `/proc/${process.pid}/fd/${handle.fd}`;
  const target: ExportTarget = { file, inFolder: (name) => `${folder}/${name}`, close: () => handle.close() };
  try {
    const realParent = await fs.readlink(folder);
    const realRecordings = await fs.realpath(recordingsDir).catch(() => path.resolve(recordingsDir));
    if (realParent === realRecordings || realParent.startsWith(`${realRecordings}${path.sep}`)) {
      throw new UsageError(
        `${file} is inside the recordings dir ${recordingsDir}: ` +
          'an export never writes into a session folder or the recordings dir (not even with --force); choose a file elsewhere',
      );
    }
    const stat = await fs.lstat(target.inFolder(path.basename(file))).catch(() => undefined);
    if (stat?.isDirectory()) throw new ExportError(`cannot export to ${file}: it is a folder; name a file in it; nothing was exported`);
    if (stat && !force) throw new UsageError(`${file} exists; pass --force to replace it`);
    return target;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** What a user can act on: a failed write becomes one line naming the file (no stack); echolog's own errors pass through. */
export function exportWriteError(file: string, error: unknown, also = ''): unknown {
  if (error instanceof EchologError) return also ? new ExportError(`${error.message}${also}`) : error;
  const { code } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof code !== 'string') return error;
  const why =
    code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : code === 'EDQUOT' ? 'the disk quota is exceeded (EDQUOT)' : (error as Error).message;
  return new ExportError(`could not write ${file}: ${why}; nothing was written there${also}`);
}

/** Ctrl-C or SIGTERM during an export: ffmpeg is stopped and its temp file removed; exit 130 or 143. */
export class ExportInterruptedError extends EchologError {
  override readonly exitCode: number;
  constructor(signal: 'SIGINT' | 'SIGTERM', output: string) {
    super(`export to ${output} stopped by ${signal}; nothing was written`);
    this.exitCode = signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
  }
}

/**
 * ffmpeg's exit, or the signal that asked echolog to stop (ffmpeg is then stopped first): without
 * these handlers Node would die at once and leave the temp file beside the output.
 */
async function untilExitOrSignal(ffmpeg: ManagedProcess): Promise<{ exit: ProcessExit; signal?: 'SIGINT' | 'SIGTERM' }> {
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const giveBack = takeStopSignals(['SIGINT', 'SIGTERM'], (received) => {
    signal ??= received;
    // -nostdin: no `q`; SIGINT first (a Ctrl-C in the terminal has sent it to ffmpeg too).
    void ffmpeg.stop({ stepTimeoutMs: 2000 });
  });
  try {
    const exit = await ffmpeg.exited;
    return signal ? { exit, signal } : { exit };
  } finally {
    giveBack();
  }
}

/** One session's transcript lines and where its audio starts in the joined export. */
export interface TranscriptPart {
  lines: readonly TranscriptLine[];
  offsetSeconds: number;
}

/** The chain's transcript as one document, each session's times moved to where its audio is in the export. Pure. */
export function mergeTranscripts(
  parts: readonly TranscriptPart[],
  meta: { sessionId: string; language: string; duration: number },
): TranscriptDocument {
  // Rounded like every transcript time (a sum of chunk durations is a float such as 6.0129375000000005).
  const shift = (t: number, by: number): number => roundToMs(t + by);
  const lines = parts.flatMap((part) =>
    part.lines.map((line) => ({
      ...line,
      start: shift(line.start, part.offsetSeconds),
      end: shift(line.end, part.offsetSeconds),
      ...(line.words
        ? { words: line.words.map((w) => ({ ...w, start: shift(w.start, part.offsetSeconds), end: shift(w.end, part.offsetSeconds) })) }
        : {}),
    })),
  );
  return buildTranscript(lines, meta);
}

export function formatTranscript(doc: TranscriptDocument, format: TranscriptFormat): string {
  return { json: formatJson, txt: formatTxt, srt: formatSrt, vtt: formatVtt }[format](doc);
}

/** The transcript written (temp file, rename) through the target's judged folder. */
export function writeTranscriptExport(target: ExportTarget, doc: TranscriptDocument, format: TranscriptFormat): Promise<void> {
  return writeFileDurable(target.inFolder(path.basename(target.file)), formatTranscript(doc, format));
}

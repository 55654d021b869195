/** Pure builders of the ffmpeg command line. The runner spawns exactly what these return. */
import path from 'node:path';
import { CHUNK_PATTERN } from './chunk-name.js';

export interface CaptureInput {
  /** ffmpeg input format (`-f`): pulse, alsa, avfoundation, dshow, lavfi; empty for a file. */
  format: string;
  /** Device name, file path or lavfi graph (`-i`). */
  input: string;
}

export interface CaptureArgsOptions {
  input: CaptureInput;
  /** Pace files and lavfi graphs at their native rate, like a live device (`-re`). */
  realtime: boolean;
  sampleRate: number;
  channels: number;
  segmentTime: number;
  /** Stop after this many seconds of audio (`-t`); undefined records until stopped. */
  durationSeconds: number | undefined;
  segmentListPath: string;
  chunkPattern: string;
  /** The first chunk's number: a restarted ffmpeg continues the session's numbering. */
  segmentStartNumber: number;
}

/** Formats that capture from a device and are paced by the hardware, never by `-re`. */
const DEVICE_FORMATS = new Set(['pulse', 'alsa', 'avfoundation', 'dshow', 'oss', 'jack', 'openal', 'sndio']);

export const SEGMENT_LIST_NAME = 'segments.csv';

/**
 * The segment list of an ffmpeg run in a session: `segments.csv` for the first, `segments.<run>.csv`
 * for a restarted one. Each run has its own list because ffmpeg truncates the list when it opens it.
 */
export function segmentListName(run: number): string {
  return run <= 1 ? SEGMENT_LIST_NAME : `segments.${run}.csv`;
}

/** The run a file name is the segment list of, or undefined for any other file. */
export function segmentListRun(name: string): number | undefined {
  if (name === SEGMENT_LIST_NAME) return 1;
  const match = /^segments\.([1-9][0-9]{0,5})\.csv$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * The segment muxer's output template in `dir`. The template is printf-like for the whole path
 * (https://ffmpeg.org/ffmpeg-formats.html#segment), so a `%` in the folder must be doubled.
 */
export function chunkPatternIn(dir: string): string {
  return path.join(dir.replaceAll('%', '%%'), CHUNK_PATTERN);
}

export function isDeviceInput(input: CaptureInput): boolean {
  return DEVICE_FORMATS.has(input.format);
}

export function buildCaptureArgs(options: CaptureArgsOptions): string[] {
  const { input } = options;
  return [
    '-hide_banner',
    // Progress lines end in \r and would flood the log; chunk events come from the segment list.
    '-nostats',
    // Each line tagged with ffmpeg's own severity (`[error] …`), which decides its log level (ffmpeg-stderr.ts).
    '-loglevel',
    'level+info',
    // ffmpeg's own end-of-output report (`progress=end`, the time it reached), read by ffmpeg-progress.ts:
    // how echolog knows a run reached `-t`. One block at start and one at the end, not one per 0.5 s.
    '-progress',
    'pipe:2',
    '-stats_period',
    '3600',
    ...(options.realtime && !isDeviceInput(input) ? ['-re'] : []),
    ...(input.format ? ['-f', input.format] : []),
    '-i',
    input.input,
    ...(options.durationSeconds !== undefined ? ['-t', String(options.durationSeconds)] : []),
    '-vn',
    '-af',
    levelReportFilter({
      sampleRate: options.sampleRate,
      windowSeconds: levelWindowSeconds(options.realtime || isDeviceInput(input), options.segmentTime),
      durationSeconds: options.durationSeconds,
    }),
    '-ac',
    String(options.channels),
    '-ar',
    String(options.sampleRate),
    '-c:a',
    'pcm_s16le',
    '-f',
    'segment',
    '-segment_time',
    String(options.segmentTime),
    '-segment_format',
    'wav',
    '-segment_start_number',
    String(options.segmentStartNumber),
    // A row is appended right after a chunk's trailer is written: a row means the chunk is final.
    '-segment_list',
    options.segmentListPath,
    '-segment_list_type',
    'csv',
    '-reset_timestamps',
    '1',
    options.chunkPattern,
  ];
}

/**
 * A live capture's level window. A window holds the chunk output's packets back until it is full,
 * so a live capture's is short: a chunk is reported at most this much later (the ledger's
 * clock_drift check allows for it).
 */
export const LIVE_LEVEL_WINDOW_SECONDS = 1;
/** The longest window at full speed: the silent-input alarm's resolution there. */
const MAX_LEVEL_WINDOW_SECONDS = 5;

/**
 * The RMS level is reported for windows of this many seconds of audio. At full speed nothing waits
 * for the wall clock, and fewer, longer windows cost echolog less (issue 19): 1 to 5 s, a whole
 * number of them per chunk of a second or more, so that a chunk's level (the loudest window before
 * it) is its own.
 */
export function levelWindowSeconds(live: boolean, segmentSeconds: number): number {
  if (live) return LIVE_LEVEL_WINDOW_SECONDS;
  return Math.max(LIVE_LEVEL_WINDOW_SECONDS, segmentSeconds / Math.ceil(segmentSeconds / MAX_LEVEL_WINDOW_SECONDS));
}

export interface LevelReportFilterOptions {
  sampleRate: number;
  windowSeconds: number;
  /** The output's `-t`: the audio the level is measured on ends there too. */
  durationSeconds: number | undefined;
}

/**
 * The chunk output's filter: ffmpeg measures the level (it does audio work better than a JS loop
 * over every sample): `astats` takes each window's RMS and counts its samples, and `ametadata`
 * prints both on stderr (read by ffmpeg-level-report.ts), written at once (`direct=1`: unbuffered,
 * or the lines would come when ffmpeg exits). The count is the window's true length: the last
 * window of a run is partial. `atrim` ends the audio at `-t` before it is measured: ffmpeg applies
 * an output's `-t` after its filters, which would otherwise measure the windows it reads past the
 * end (a silent 14 s file counted as 16 s of silence).
 * The audio passes unchanged (`aresample` to the chunk rate is the resampler `-ar` inserts anyway);
 * the last `asetnsamples` hands the muxer 20 ms packets again, so chunks still split finely.
 * https://ffmpeg.org/ffmpeg-filters.html#astats-1, #metadata_002c-ametadata, #atrim
 */
export function levelReportFilter(options: LevelReportFilterOptions): string {
  const { sampleRate, windowSeconds, durationSeconds } = options;
  return [
    ...(durationSeconds !== undefined ? [`atrim=duration=${durationSeconds}`] : []),
    `aresample=${sampleRate}`,
    `asetnsamples=n=${Math.round(sampleRate * windowSeconds)}:p=0`,
    'astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level+Number_of_samples',
    "ametadata=mode=print:file='pipe\\:2':direct=1",
    `asetnsamples=n=${Math.round(sampleRate / 50)}:p=0`,
  ].join(',');
}

export interface LiveAudioArgsOptions {
  sampleRate: number;
  /** The same `-t` as the chunk output: an output option binds to the output that follows it. */
  durationSeconds: number | undefined;
}

/**
 * A second output of the same capture, appended after the chunk output: raw s16le mono PCM on
 * stdout for a streaming engine. `-flush_packets 1` hands each packet over at once; without it
 * the pipe's 32 KB I/O buffer would hold about a second of 16 kHz audio back.
 */
export function buildLiveAudioArgs(options: LiveAudioArgsOptions): string[] {
  return [
    ...(options.durationSeconds !== undefined ? ['-t', String(options.durationSeconds)] : []),
    '-vn',
    '-ac',
    '1',
    '-ar',
    String(options.sampleRate),
    '-c:a',
    'pcm_s16le',
    '-f',
    's16le',
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}

export interface PlatformFacts {
  platform: NodeJS.Platform;
  /** A PulseAudio (or PipeWire-pulse) server socket is reachable. */
  pulseAvailable: boolean;
}

/** The capture device used when neither --input nor recording.input is given. */
export function defaultCaptureInput(facts: PlatformFacts): CaptureInput {
  switch (facts.platform) {
    case 'darwin':
      return { format: 'avfoundation', input: ':default' };
    case 'win32':
      // dshow has no "default" device; users name theirs, as `ffmpeg -list_devices true -f dshow -i dummy` shows.
      return { format: 'dshow', input: 'audio=Microphone' };
    default:
      return facts.pulseAvailable ? { format: 'pulse', input: 'default' } : { format: 'alsa', input: 'default' };
  }
}

import fs from 'node:fs';
import path from 'node:path';
import type { EchologConfig } from '../config/schema.js';
import { locatePulseServer } from './pulse-server.js';
import { UsageError } from '../errors.js';
import {
  buildCaptureArgs,
  chunkPatternIn,
  defaultCaptureInput,
  isDeviceInput,
  segmentListName,
  type CaptureArgsOptions,
  type CaptureInput,
  type PlatformFacts,
} from '../recorder/ffmpeg-args.js';
import { formatCommandLine } from '../recorder/command-line.js';
import type { FfmpegLocation } from '../recorder/ffmpeg-locator.js';
import { resolveUserPath } from '../files/paths.js';

/** Everything a recording will do, decided before anything is created; `--dry-run` prints it. */
export interface RecordingPlan {
  sessionId: string;
  recordingsDir: string;
  sessionDir: string;
  input: CaptureInput;
  durationSeconds: number | undefined;
  /** The session this one resumes (`record --resume`): linked, not continued. */
  resumedFrom?: string;
  ffmpeg: FfmpegLocation;
  /** The first ffmpeg run's arguments (what --dry-run shows); a restart's come from `runArgs`. */
  args: string[];
  commandLine: string;
  /** What every run's arguments are built from. */
  capture: CaptureArgsOptions;
  /**
   * Audio comes at the pace it is spoken (a device, or an input read with -re): the chunks come
   * at real time and the audio can go to a decoder as it is captured (the live transcript).
   */
  realTime: boolean;
}

/** What changes from one ffmpeg run of a session to the next. */
export interface CaptureRun {
  /** 1 for the first run, then 2, 3, … for each restart. */
  run: number;
  /** The number of the run's first chunk file. */
  startNumber: number;
  /** Seconds of audio still wanted (`--duration` minus what earlier runs captured). */
  durationSeconds: number | undefined;
}

/** Pure: the ffmpeg arguments of one run of a planned session. */
export function runArgs(plan: Pick<RecordingPlan, 'capture' | 'sessionDir'>, run: CaptureRun): string[] {
  return buildCaptureArgs({
    ...plan.capture,
    segmentStartNumber: run.startNumber,
    durationSeconds: run.durationSeconds,
    segmentListPath: path.join(plan.sessionDir, segmentListName(run.run)),
  });
}

export interface PlanRecordingOptions {
  config: EchologConfig;
  sessionId: string;
  durationSeconds: number | undefined;
  resumedFrom?: string;
  ffmpeg: FfmpegLocation;
  platform: PlatformFacts;
  cwd: string;
  home: string;
}

export function planRecording(options: PlanRecordingOptions): RecordingPlan {
  const { config } = options;
  const recordingsDir = resolveUserPath(config.recordings_dir, options);
  const sessionDir = path.join(recordingsDir, options.sessionId);
  const input = captureInputOf(config, options.platform, options.cwd);
  const capture: CaptureArgsOptions = {
    input,
    realtime: config.recording.realtime,
    sampleRate: config.recording.sample_rate,
    channels: config.recording.channels,
    segmentTime: config.recording.segment_time,
    durationSeconds: options.durationSeconds,
    // Absolute paths, so the logged command reproduces the capture from any folder.
    segmentListPath: path.join(sessionDir, segmentListName(1)),
    chunkPattern: chunkPatternIn(sessionDir),
    segmentStartNumber: 1,
  };
  const args = buildCaptureArgs(capture);
  return {
    sessionId: options.sessionId,
    recordingsDir,
    sessionDir,
    input,
    durationSeconds: options.durationSeconds,
    ...(options.resumedFrom === undefined ? {} : { resumedFrom: options.resumedFrom }),
    ffmpeg: options.ffmpeg,
    args,
    commandLine: formatCommandLine(options.ffmpeg.path, args),
    capture,
    realTime: isDeviceInput(input) || config.recording.realtime,
  };
}

/** --input/--input-format, else the platform's default device. A file input must exist. */
function captureInputOf(config: EchologConfig, platform: PlatformFacts, cwd: string): CaptureInput {
  const { input_format: format, input } = config.recording;
  if (!input) {
    if (format && format !== 'pulse' && format !== 'alsa') {
      throw new UsageError(`--input-format ${format} needs --input (a device, file or lavfi graph)`);
    }
    return format ? { format, input: 'default' } : defaultCaptureInput(platform);
  }
  const capture = { format, input };
  if (!format) {
    const file = path.resolve(cwd, input);
    if (!fs.existsSync(file)) {
      throw new UsageError(
        `--input ${input}: no such file (for a device or lavfi graph, also give --input-format, e.g. pulse, alsa or lavfi)`,
      );
    }
    return { format, input: file };
  }
  if (!isDeviceInput(capture) && format !== 'lavfi' && !fs.existsSync(path.resolve(cwd, input))) {
    throw new UsageError(`--input ${input}: no such file for --input-format ${format}`);
  }
  return capture;
}

/** Whether a PulseAudio-compatible server is reachable, which picks pulse over ALSA on Linux. */
export function detectPlatform(env: NodeJS.ProcessEnv): PlatformFacts {
  // Found where libpulse (ffmpeg's pulse input) looks for it.
  return { platform: process.platform, pulseAvailable: locatePulseServer(env).kind !== 'none' };
}

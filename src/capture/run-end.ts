import type { ProcessExit } from '../process/managed-process.js';
import type { ProgressReport } from '../recorder/ffmpeg-progress.js';

/**
 * How one ffmpeg run of a session ended. Pure: decided from facts the supervisor gathered, and
 * whether a `-t` was reached from ffmpeg's own end-of-output report, never from the samples a
 * device delivered (they fall short of its timestamps) or the wall clock.
 * - `stopped`: echolog asked it to stop (Ctrl-C, a signal, a full disk, low disk).
 * - `duration_reached`: it captured the audio `--duration` asked for.
 * - `end_of_input`: a file (or a finite lavfi graph) was read to its end.
 * - `input_damaged`: the input ended early, before its declared length or `--duration`, with
 *   error lines (decode errors) on stderr: not a normal end, and no retry reads it better.
 * - `unrecoverable`: the first start failed for a reason no retry can fix (start-failure.ts).
 * - `device_lost`: a live input ended without being asked (PulseAudio gone, a microphone unplugged);
 *   ffmpeg exits 0 then, which is never a success for a device.
 * - `crashed`: a non-zero exit or a signal (a kill, a device error).
 * - `no_audio`: it exited 0 without finishing a single chunk (`ECHOLOG_FFMPEG=/bin/true`).
 * - `stalled`: no chunk for too long; echolog stopped it.
 */
export type RunEnd =
  'stopped' | 'duration_reached' | 'end_of_input' | 'input_damaged' | 'unrecoverable' | 'device_lost' | 'crashed' | 'no_audio' | 'stalled';

export interface RunFacts {
  stopRequested: boolean;
  /** echolog stopped the run because it stalled. */
  stalled: boolean;
  exit: ProcessExit;
  /** A capture device (pulse, alsa, avfoundation, dshow, …), not a file or lavfi. */
  liveInput: boolean;
  /** Chunks the run finished (a repaired torn chunk counts). */
  chunks: number;
  /** The run's `-t`, if any. */
  wantedSeconds: number | undefined;
  /** Audio the run captured, from its chunks' samples. */
  capturedSeconds: number;
  /** ffmpeg's own progress report of the run (`-progress`). */
  progress: ProgressReport;
  /** Error lines the run printed (ffmpeg's `[error]`). */
  errorLines: number;
  /** The run failed to start for a reason no retry can fix (start-failure.ts). */
  permanentFailure: boolean;
  /** An earlier run of the session finished a chunk: the input worked before. */
  sessionHadAudio: boolean;
}

/** A chunk boundary, or ffmpeg's last frame, may fall a little short of `-t`. */
const DURATION_TOLERANCE_SECONDS = 0.1;
/** An input's declared length is an estimate (an MP3's from its bitrate). */
const INPUT_LENGTH_TOLERANCE_SECONDS = 1;

export function classifyRunEnd(facts: RunFacts): RunEnd {
  if (facts.stopRequested) return 'stopped';
  if (facts.stalled) return 'stalled';
  const wanted = facts.wantedSeconds;
  // ffmpeg says it finished its outputs at -t: a device's samples may be fewer, and that is all it delivers.
  if (wanted !== undefined && facts.exit.code === 0 && reachedSeconds(facts.progress) >= wanted - DURATION_TOLERANCE_SECONDS)
    return 'duration_reached';
  // All the audio asked for is in finished chunks: however the run ended, nothing is missing.
  if (wanted !== undefined && facts.chunks > 0 && facts.capturedSeconds >= wanted - DURATION_TOLERANCE_SECONDS) return 'duration_reached';
  if (facts.chunks === 0 && facts.permanentFailure && !facts.sessionHadAudio) return 'unrecoverable';
  if (facts.liveInput && facts.chunks === 0) return 'device_lost';
  if (facts.exit.code !== 0) return 'crashed';
  if (facts.liveInput) return 'device_lost';
  if (facts.chunks === 0) return 'no_audio';
  if (facts.errorLines > 0 && endedEarly(facts)) return 'input_damaged';
  return 'end_of_input';
}

/** The output time ffmpeg reported reaching at its end; 0 without an end report. */
function reachedSeconds(progress: ProgressReport): number {
  return progress.ended ? (progress.outSeconds ?? 0) : 0;
}

/** Short of both the input's declared length and `--duration` (whichever is known and nearer). */
function endedEarly(facts: RunFacts): boolean {
  const expected = Math.min(facts.progress.inputSeconds ?? Infinity, facts.wantedSeconds ?? Infinity);
  if (expected === Infinity) return false;
  const reached = facts.progress.outSeconds ?? facts.capturedSeconds;
  return reached < expected - INPUT_LENGTH_TOLERANCE_SECONDS;
}

import type { ProcessExit } from '../process/managed-process.js';

/**
 * How one ffmpeg run of a session ended. Pure: decided from facts the supervisor gathered.
 * - `stopped`: echolog asked it to stop (Ctrl-C, a signal, a full disk, low disk).
 * - `duration_reached`: it captured the audio `--duration` asked for.
 * - `end_of_input`: a file (or a finite lavfi graph) was read to its end.
 * - `device_lost`: a live input ended without being asked (PulseAudio gone, a microphone unplugged);
 *   ffmpeg exits 0 then, which is never a success for a device.
 * - `crashed`: a non-zero exit or a signal (a kill, a device error).
 * - `no_audio`: it exited 0 without finishing a single chunk (`ECHOLOG_FFMPEG=/bin/true`).
 * - `stalled`: no chunk for too long; echolog stopped it.
 */
export type RunEnd = 'stopped' | 'duration_reached' | 'end_of_input' | 'device_lost' | 'crashed' | 'no_audio' | 'stalled';

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
  /** Audio the run captured, from its chunks' data. */
  capturedSeconds: number;
}

/** A chunk boundary may fall a few samples short of `-t`. */
const DURATION_TOLERANCE_SECONDS = 0.1;

export function classifyRunEnd(facts: RunFacts): RunEnd {
  if (facts.stopRequested) return 'stopped';
  if (facts.stalled) return 'stalled';
  // All the audio asked for is in finished chunks: however the run ended, nothing is missing.
  if (facts.wantedSeconds !== undefined && facts.chunks > 0 && facts.capturedSeconds >= facts.wantedSeconds - DURATION_TOLERANCE_SECONDS) return 'duration_reached';
  if (facts.liveInput && facts.chunks === 0) return 'device_lost';
  if (facts.exit.code !== 0) return 'crashed';
  if (facts.liveInput) return 'device_lost';
  if (facts.chunks === 0) return 'no_audio';
  return 'end_of_input';
}

/**
 * The silence gate's measure: how loud a chunk is, from its 16-bit PCM. Pure.
 * `levelDb` is the RMS of the loudest 50 ms window, in dBFS: a single word in a chunk of
 * silence still passes (an RMS over the whole chunk would drown it), while one click does not.
 */
export interface AudioLevel {
  /** RMS of the loudest window, dBFS (-Infinity for digital silence). */
  levelDb: number;
  /** RMS of the whole chunk, dBFS. */
  rmsDb: number;
  /** Largest absolute sample, dBFS. */
  peakDb: number;
}

const FULL_SCALE = 32768;
export const LEVEL_WINDOW_SECONDS = 0.05;

export function toDbfs(amplitude: number): number {
  return amplitude > 0 ? 20 * Math.log10(amplitude / FULL_SCALE) : -Infinity;
}

export function measureLevel(pcm: Buffer, sampleRate: number, channels = 1): AudioLevel {
  const samples = Math.floor(pcm.length / 2);
  const window = Math.max(1, Math.round(sampleRate * channels * LEVEL_WINDOW_SECONDS));
  let total = 0;
  let peak = 0;
  let windowSum = 0;
  let windowCount = 0;
  let loudest = 0;
  for (let i = 0; i < samples; i++) {
    const sample = pcm.readInt16LE(i * 2);
    const square = sample * sample;
    total += square;
    windowSum += square;
    windowCount++;
    const magnitude = Math.abs(sample);
    if (magnitude > peak) peak = magnitude;
    if (windowCount === window || i === samples - 1) {
      loudest = Math.max(loudest, windowSum / windowCount);
      windowSum = 0;
      windowCount = 0;
    }
  }
  return {
    levelDb: toDbfs(Math.sqrt(loudest)),
    rmsDb: samples > 0 ? toDbfs(Math.sqrt(total / samples)) : -Infinity,
    peakDb: toDbfs(peak),
  };
}

export function isSilent(level: AudioLevel, thresholdDb: number): boolean {
  return level.levelDb < thresholdDb;
}

/** For the log: `-inf` instead of `-Infinity`, one decimal otherwise. */
export function formatDb(db: number): string {
  return Number.isFinite(db) ? db.toFixed(1) : '-inf';
}

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
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const LEVEL_WINDOW_SECONDS = 0.05;

export function toDbfs(amplitude: number): number {
  return amplitude > 0 ? 20 * Math.log10(amplitude / FULL_SCALE) : -Infinity;
}

/**
 * The level of audio that comes in pieces (a chunk read in bounded reads): push each piece in
 * order, then read `level()`. Pieces may split a sample or a window anywhere; the result is the
 * same as for the whole audio at once, while only one window's sums are held.
 */
export class LevelMeter {
  private readonly window: number;
  private samples = 0;
  private total = 0;
  private peak = 0;
  private windowSum = 0;
  private windowCount = 0;
  private loudest = 0;
  /** The first byte of a sample split between two pieces. */
  private carry: number | undefined;

  constructor(sampleRate: number, channels = 1) {
    this.window = Math.max(1, Math.round(sampleRate * channels * LEVEL_WINDOW_SECONDS));
  }

  push(pcm: Buffer): void {
    let start = 0;
    if (this.carry !== undefined && pcm.length > 0) {
      this.add(Buffer.from([this.carry, pcm[0]!]).readInt16LE(0));
      this.carry = undefined;
      start = 1;
    }
    const end = start + Math.floor((pcm.length - start) / 2) * 2;
    if ((pcm.byteOffset + start) % 2 === 0 && IS_LITTLE_ENDIAN) {
      // A typed view reads samples several times faster than readInt16LE: this runs on every chunk.
      const samples = new Int16Array(pcm.buffer, pcm.byteOffset + start, (end - start) / 2);
      for (let i = 0; i < samples.length; i++) this.add(samples[i]!);
    } else {
      for (let i = start; i < end; i += 2) this.add(pcm.readInt16LE(i));
    }
    if (end < pcm.length) this.carry = pcm[end];
  }

  level(): AudioLevel {
    const loudest = this.windowCount > 0 ? Math.max(this.loudest, this.windowSum / this.windowCount) : this.loudest;
    return {
      levelDb: toDbfs(Math.sqrt(loudest)),
      rmsDb: this.samples > 0 ? toDbfs(Math.sqrt(this.total / this.samples)) : -Infinity,
      peakDb: toDbfs(this.peak),
    };
  }

  private add(sample: number): void {
    const square = sample * sample;
    this.samples++;
    this.total += square;
    this.windowSum += square;
    this.windowCount++;
    const magnitude = Math.abs(sample);
    if (magnitude > this.peak) this.peak = magnitude;
    if (this.windowCount === this.window) {
      this.loudest = Math.max(this.loudest, this.windowSum / this.windowCount);
      this.windowSum = 0;
      this.windowCount = 0;
    }
  }
}

/** The level of PCM held whole (a short probe, a live block). */
export function measureLevel(pcm: Buffer, sampleRate: number, channels = 1): AudioLevel {
  const meter = new LevelMeter(sampleRate, channels);
  meter.push(pcm);
  return meter.level();
}

export function isSilent(level: AudioLevel, thresholdDb: number): boolean {
  return level.levelDb < thresholdDb;
}

/** For the log: `-inf` instead of `-Infinity`, one decimal otherwise. */
export function formatDb(db: number): string {
  return Number.isFinite(db) ? db.toFixed(1) : '-inf';
}

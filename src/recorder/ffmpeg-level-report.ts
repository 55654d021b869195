/**
 * The level report the chunk output's filter prints on stderr (ffmpeg-args.ts levelReportFilter):
 * `ametadata` writes, per window, `frame:3    pts:48000   pts_time:3` and then
 * `lavfi.astats.Overall.RMS_level=-27.094342` (`-inf` for digital silence) and
 * `lavfi.astats.Overall.Number_of_samples=16000.000000` (per channel). None is a log line.
 * Pure.
 */
export type LevelReportLine = { kind: 'frame' } | { kind: 'level'; db: number } | { kind: 'samples'; count: number };

const LEVEL_LINE = /^lavfi\.astats\.Overall\.RMS_level=(-?inf|nan|-?[0-9.]+(?:e[-+]?[0-9]+)?)\s*$/;
const SAMPLES_LINE = /^lavfi\.astats\.Overall\.Number_of_samples=([0-9]+)(?:\.[0-9]*)?\s*$/;
const FRAME_LINE = /^frame:\d+\s+pts:-?\d+\s+pts_time:\S+\s*$/;

/** A level report line, or undefined for any other stderr line. */
export function parseLevelReportLine(line: string): LevelReportLine | undefined {
  if (line.charCodeAt(0) === 102 /* f */ && FRAME_LINE.test(line)) return { kind: 'frame' };
  const samples = SAMPLES_LINE.exec(line)?.[1];
  if (samples !== undefined) return { kind: 'samples', count: Number(samples) };
  const level = LEVEL_LINE.exec(line)?.[1];
  if (level === undefined) return undefined;
  // `nan`: a window without samples; treated as silence, never as sound.
  return { kind: 'level', db: level === 'inf' ? Infinity : level === '-inf' || level === 'nan' ? -Infinity : Number(level) };
}

/**
 * One ffmpeg run's level report, window by window: a window is handed on once both its level and
 * its sample count are read, as its level and its length in seconds at `sampleRate` (the rate the
 * filter measures at). A frame line starts a window, so a torn one never pairs with the next.
 */
export class LevelWindowReader {
  private db: number | undefined;
  private samples: number | undefined;

  constructor(
    private readonly sampleRate: number,
    private readonly onWindow: (db: number, seconds: number) => void,
  ) {}

  /** True when the line belongs to the level report (and so is not a log line). */
  line(line: string): boolean {
    const report = parseLevelReportLine(line);
    if (report === undefined) return false;
    if (report.kind === 'frame') this.db = this.samples = undefined;
    else if (report.kind === 'level') this.db = report.db;
    else this.samples = report.count;
    if (this.db !== undefined && this.samples !== undefined) {
      this.onWindow(this.db, this.samples / this.sampleRate);
      this.db = this.samples = undefined;
    }
    return true;
  }
}

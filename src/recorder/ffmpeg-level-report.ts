/**
 * The level lines the chunk output's filter prints on stderr (ffmpeg-args.ts levelReportFilter):
 * `ametadata` writes, per window, `frame:3    pts:48000   pts_time:3` and then
 * `lavfi.astats.Overall.RMS_level=-27.094342` (`-inf` for digital silence). Neither is a log line.
 * Pure.
 */
export type LevelReportLine = { kind: 'level'; db: number } | { kind: 'frame' };

const LEVEL_LINE = /^lavfi\.astats\.Overall\.RMS_level=(-?inf|nan|-?[0-9.]+(?:e[-+]?[0-9]+)?)\s*$/;
const FRAME_LINE = /^frame:\d+\s+pts:-?\d+\s+pts_time:\S+\s*$/;

/** A level report line, or undefined for any other stderr line. */
export function parseLevelReportLine(line: string): LevelReportLine | undefined {
  if (line.charCodeAt(0) === 102 /* f */ && FRAME_LINE.test(line)) return { kind: 'frame' };
  const level = LEVEL_LINE.exec(line)?.[1];
  if (level === undefined) return undefined;
  // `nan`: a window without samples; treated as silence, never as sound.
  return { kind: 'level', db: level === 'inf' ? Infinity : level === '-inf' || level === 'nan' ? -Infinity : Number(level) };
}

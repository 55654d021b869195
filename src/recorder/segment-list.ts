/** Parses rows of ffmpeg's segment list in `csv` form: `file,start,end` (file quoted if it has commas). */
export interface SegmentListRow {
  file: string;
  start: number;
  end: number;
}

export function parseSegmentListRow(line: string): SegmentListRow | undefined {
  const match = /^(?:"((?:[^"]|"")*)"|([^,]*)),([0-9.]+),([0-9.]+)\s*$/.exec(line);
  if (!match) return undefined;
  const file = match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!;
  return { file, start: Number(match[3]), end: Number(match[4]) };
}

/** Splits appended text into whole lines and the unfinished rest, which waits for the next read. */
export function splitCompleteLines(pending: string): { lines: string[]; rest: string } {
  const cut = pending.lastIndexOf('\n');
  if (cut < 0) return { lines: [], rest: pending };
  return {
    lines: pending
      .slice(0, cut)
      .split('\n')
      .filter((l) => l.length > 0),
    rest: pending.slice(cut + 1),
  };
}

import { chunkNumberOf } from './chunk-name.js';

/** What the torn-chunk repair asks of a record of listed chunk files (a Set of names answers it too). */
export interface ListedFiles {
  has(file: string): boolean;
}

/**
 * The chunk files a run's segment list has named so far, kept as ranges of chunk numbers: ffmpeg
 * lists chunks in order, so a run is one range however long it lasts. A Set of names grew by a
 * name per chunk for the whole session (issue 19: 8640 a day at 10 s chunks); this grows only
 * with gaps in the numbering. Names that carry no chunk number are never asked about (the repair
 * looks only at chunk files), so they are not kept.
 */
export class ListedChunks implements ListedFiles {
  /** Disjoint, sorted, not touching: [first, last] chunk numbers. */
  private readonly ranges: Array<[number, number]> = [];

  add(file: string): void {
    const n = chunkNumberOf(file);
    if (n === undefined) return;
    const last = this.ranges.at(-1);
    // The usual case: the next chunk in order.
    if (last && n === last[1] + 1) {
      last[1] = n;
      return;
    }
    let i = this.ranges.length;
    while (i > 0 && this.ranges[i - 1]![0] > n) i--;
    const before = this.ranges[i - 1];
    if (before && n <= before[1]) return; // already listed
    const after = this.ranges[i];
    const joinsBefore = before !== undefined && before[1] + 1 === n;
    const joinsAfter = after !== undefined && after[0] - 1 === n;
    if (joinsBefore && joinsAfter) {
      before[1] = after[1];
      this.ranges.splice(i, 1);
    } else if (joinsBefore) before[1] = n;
    else if (joinsAfter) after[0] = n;
    else this.ranges.splice(i, 0, [n, n]);
  }

  has(file: string): boolean {
    const n = chunkNumberOf(file);
    return n !== undefined && this.ranges.some(([first, last]) => first <= n && n <= last);
  }

  /** How many ranges are kept: 1 for a run listed without gaps. */
  get rangeCount(): number {
    return this.ranges.length;
  }
}

import { describe, expect, it } from 'vitest';
import { ListedChunks } from '../src/recorder/listed-chunks.js';

const name = (n: number): string => `chunk_${String(n).padStart(5, '0')}.wav`;

describe('ListedChunks: the listed chunk files of a run, bounded by gaps, not by chunks (issue 19 §3)', () => {
  it('a day of 10 s chunks listed in order is one range, and knows each of them', () => {
    const listed = new ListedChunks();
    for (let n = 1; n <= 8640; n++) listed.add(name(n));
    expect(listed.rangeCount).toBe(1);
    expect([1, 2, 4321, 8640].every((n) => listed.has(name(n)))).toBe(true);
    expect(listed.has(name(0))).toBe(false);
    expect(listed.has(name(8641))).toBe(false);
  });

  it('a run that starts past 1 (a restart) knows nothing before its first chunk', () => {
    const listed = new ListedChunks();
    for (let n = 37; n <= 40; n++) listed.add(name(n));
    expect(listed.has(name(36))).toBe(false);
    expect(listed.has(name(37))).toBe(true);
    expect(listed.rangeCount).toBe(1);
  });

  it('gaps are kept, and closed when the missing chunk comes, in any order; repeats change nothing', () => {
    const listed = new ListedChunks();
    for (const n of [5, 1, 3, 9, 2, 3, 8]) listed.add(name(n));
    expect(listed.rangeCount).toBe(3); // 1-3, 5, 8-9
    expect([1, 2, 3, 5, 8, 9].map((n) => listed.has(name(n)))).toEqual([true, true, true, true, true, true]);
    expect([4, 6, 7, 10].map((n) => listed.has(name(n)))).toEqual([false, false, false, false]);
    listed.add(name(4));
    expect(listed.rangeCount).toBe(2); // 1-5, 8-9
    listed.add(name(7));
    listed.add(name(6));
    expect(listed.rangeCount).toBe(1);
    expect(listed.has(name(7))).toBe(true);
  });

  it('chunk numbers past five digits (ffmpeg widens the name) and names that are no chunk', () => {
    const listed = new ListedChunks();
    listed.add('chunk_99999.wav');
    listed.add('chunk_100000.wav');
    listed.add('notes.txt');
    expect(listed.rangeCount).toBe(1);
    expect(listed.has('chunk_100000.wav')).toBe(true);
    expect(listed.has('chunk_100000.wav.torn')).toBe(false);
    expect(listed.has('notes.txt')).toBe(false);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SegmentListWatcher } from '../src/recorder/segment-list-watcher.js';
import type { SegmentListRow } from '../src/recorder/segment-list.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-list-watcher-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Rows as they are reported, and a wait for the n-th (rejects after `ms`: a missed inotify event would hang). */
function rowCollector(): {
  rows: SegmentListRow[];
  onRow: (row: SegmentListRow) => void;
  reported: (count: number, ms?: number) => Promise<void>;
} {
  const rows: SegmentListRow[] = [];
  let wake = (): void => undefined;
  return {
    rows,
    onRow: (row) => {
      rows.push(row);
      wake();
    },
    reported: (count, ms = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${rows.length} of ${count} rows reported`)), ms);
        wake = () => {
          if (rows.length < count) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      }),
  };
}

describe('SegmentListWatcher', () => {
  // It watches the folder until the list exists, then the list alone (issue 19 §2): rows appended to the
  // list after the switch must still be reported, in order, whatever else is written in the folder.
  it('reports rows appended after the list appeared, not woken by the other files', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'session-'));
    const { rows, onRow, reported } = rowCollector();
    const bad: string[] = [];
    const watcher = new SegmentListWatcher(dir, 'segments.csv', onRow, (line) => bad.push(line));
    // Every event the watcher's fs.watch listeners hear, whichever file it names (a wake-up each).
    let events = 0;
    const realWatch = fs.watch;
    vi.spyOn(fs, 'watch').mockImplementation(((target: fs.PathLike, listener: fs.WatchListener<string>) =>
      realWatch(target, (event, name) => {
        events++;
        listener(event, name);
      })) as unknown as typeof fs.watch);
    watcher.start();
    try {
      // As ffmpeg does: the list is created (truncated) at start, empty, then one row per chunk.
      const list = fs.openSync(path.join(dir, 'segments.csv'), 'w');
      for (let seq = 1; seq <= 3; seq++) {
        const before = events;
        // The session's other files change between rows (chunks, session.log, session.json), by
        // turns: inotify folds an event into the one before it when they are the same ...
        for (let i = 0; i < 20; i++)
          fs.writeFileSync(path.join(dir, i % 2 ? 'session.log' : 'chunk_00009.wav'), `${seq}.${i}\n`, { flag: 'a' });
        fs.writeSync(list, `chunk_0000${seq}.wav,${(seq - 1) * 10}.000000,${seq * 10}.000000\n`);
        await reported(seq);
        // ... and once the list exists only its own row wakes the watcher: inotify delivers the
        // log's events before the row's, so a folder watch would have heard 20 more by now.
        if (seq > 1) expect(events - before).toBeLessThanOrEqual(2);
      }
      fs.closeSync(list);
    } finally {
      await watcher.drain();
      vi.restoreAllMocks();
    }
    expect(rows.map((row) => row.file)).toEqual(['chunk_00001.wav', 'chunk_00002.wav', 'chunk_00003.wav']);
    expect(bad).toEqual([]);
  });

  it('drain() reports the rows written after the last event', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'session-'));
    fs.writeFileSync(path.join(dir, 'segments.csv'), 'chunk_00001.wav,0.000000,10.000000\n');
    const { rows, onRow, reported } = rowCollector();
    const watcher = new SegmentListWatcher(dir, 'segments.csv', onRow, () => undefined);
    watcher.start();
    await reported(1);
    fs.appendFileSync(path.join(dir, 'segments.csv'), 'chunk_00002.wav,10.000000,20.000000\n');
    await watcher.drain();
    expect(rows.map((row) => row.file)).toEqual(['chunk_00001.wav', 'chunk_00002.wav']);
  });
});

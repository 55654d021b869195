import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentListWatcher } from '../src/recorder/segment-list-watcher.js';
import type { SegmentListRow } from '../src/recorder/segment-list.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-list-watcher-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Resolves once `count` rows were reported; rejects after `ms` (a missed inotify event would hang here). */
function rowsReported(rows: SegmentListRow[], count: number, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const check = (): void => {
      if (rows.length >= count) resolve();
      else if (Date.now() > deadline) reject(new Error(`${rows.length} of ${count} rows reported`));
      else setImmediate(check);
    };
    check();
  });
}

describe('SegmentListWatcher', () => {
  // It watches the folder until the list exists, then the list alone (issue 19 §2): rows appended to the
  // list after the switch must still be reported, in order, whatever else is written in the folder.
  it('reports rows appended after the list appeared, not woken by the other files', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'session-'));
    const rows: SegmentListRow[] = [];
    const bad: string[] = [];
    const watcher = new SegmentListWatcher(dir, 'segments.csv', (row) => rows.push(row), (line) => bad.push(line));
    watcher.start();
    try {
      // As ffmpeg does: the list is created (truncated) at start, empty, then one row per chunk.
      const list = fs.openSync(path.join(dir, 'segments.csv'), 'w');
      for (let seq = 1; seq <= 3; seq++) {
        fs.writeFileSync(path.join(dir, 'session.log'), `line ${seq}\n`, { flag: 'a' });
        fs.writeSync(list, `chunk_0000${seq}.wav,${(seq - 1) * 10}.000000,${seq * 10}.000000\n`);
        await rowsReported(rows, seq);
      }
      fs.closeSync(list);
    } finally {
      await watcher.drain();
    }
    expect(rows.map((row) => row.file)).toEqual(['chunk_00001.wav', 'chunk_00002.wav', 'chunk_00003.wav']);
    expect(bad).toEqual([]);
  });

  it('drain() reports the rows written after the last event', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'session-'));
    fs.writeFileSync(path.join(dir, 'segments.csv'), 'chunk_00001.wav,0.000000,10.000000\n');
    const rows: SegmentListRow[] = [];
    const watcher = new SegmentListWatcher(dir, 'segments.csv', (row) => rows.push(row), () => undefined);
    watcher.start();
    await rowsReported(rows, 1);
    fs.appendFileSync(path.join(dir, 'segments.csv'), 'chunk_00002.wav,10.000000,20.000000\n');
    await watcher.drain();
    expect(rows.map((row) => row.file)).toEqual(['chunk_00001.wav', 'chunk_00002.wav']);
  });
});

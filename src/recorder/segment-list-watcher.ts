import fs from 'node:fs';
import path from 'node:path';
import { segmentListRun } from './ffmpeg-args.js';
import { parseSegmentListRow, splitCompleteLines, type SegmentListRow } from './segment-list.js';

/**
 * Follows ffmpeg's segment list as it grows and reports each new row once, in order.
 * It watches (inotify on Linux) rather than polling: a row is reported within milliseconds of
 * ffmpeg writing it. The folder is watched only until the list exists, then the list itself: the
 * folder hears every write of every chunk, of session.log and of session.json (~15 events per
 * chunk at full speed, each a wake-up and a callback), the list one per row (issue 19).
 * `drain()` reads whatever is left after ffmpeg exits. Reads are synchronous: a row is ~40 bytes the
 * page cache holds, and a thread-pool round trip per row woke the main thread once more for nothing (issue 19).
 */
export class SegmentListWatcher {
  private readonly file: string;
  private watcher: fs.FSWatcher | undefined;
  private offset = 0;
  private pending = '';
  /** The list, opened once it exists and read on from `offset`. */
  private fd: number | undefined;
  /** drain() was called: no watcher may be started any more. */
  private draining = false;
  /** The first read that failed: no row after it is reported, and drain() throws it. */
  private failure: Error | undefined;
  /** Rows are ~40 bytes: one read takes hundreds; a longer backlog is read in several. */
  private readonly buffer = Buffer.alloc(16 * 1024);

  constructor(
    private readonly dir: string,
    listName: string,
    private readonly onRow: (row: SegmentListRow) => void,
    private readonly onBadRow: (line: string) => void,
  ) {
    this.file = path.join(dir, listName);
  }

  start(): void {
    const name = path.basename(this.file);
    this.watcher = fs.watch(this.dir, (_event, changed) => {
      if (changed === null || changed === name) this.read();
    });
    this.read();
  }

  /** Stops watching, reports the rows not yet reported, and closes the list; rejects with a read that failed. */
  async drain(): Promise<void> {
    this.draining = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.read();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.failure) throw this.failure;
  }

  /** A read from a watch event has no caller to throw to: its failure is kept for drain(). */
  private read(): void {
    if (this.failure) return;
    try {
      this.readNew();
    } catch (error) {
      this.failure = error as Error;
    }
  }

  /**
   * Reads what was appended since the last read. The list is opened once and read on from where
   * the last read ended: a row costs one read, not an open, a stat and a close (issue 19).
   */
  private readNew(): void {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch {
        return; // not created yet: ffmpeg creates it as it starts
      }
      this.watchListOnly();
    }
    for (;;) {
      const bytesRead = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const { lines, rest } = splitCompleteLines(this.pending + this.buffer.toString('utf8', 0, bytesRead));
      this.pending = rest;
      for (const line of lines) {
        const row = parseSegmentListRow(line);
        if (row) this.onRow(row);
        else this.onBadRow(line);
      }
      // A short read reached the end of what ffmpeg has written so far.
      if (bytesRead < this.buffer.length) return;
    }
  }

  /**
   * The list exists: from now on only its own changes wake the watcher. ffmpeg appends to the list
   * it opened (truncated) at start and never replaces it. The read that follows this call sees any
   * row written before the new watch began, so none is missed.
   */
  private watchListOnly(): void {
    if (this.draining || !this.watcher) return;
    let listWatcher: fs.FSWatcher;
    try {
      listWatcher = fs.watch(this.file, () => this.read());
    } catch {
      return; // the list went away again (the folder deleted): the folder watch stays
    }
    this.watcher.close();
    this.watcher = listWatcher;
  }
}

/**
 * Every row of a session's segment lists, run after run (`segments.csv`, then `segments.2.csv`, …):
 * the session's finished chunks in order. For recovery, a rebuilt session.json and `transcribe`.
 */
export async function readSessionSegmentLists(sessionDir: string): Promise<SegmentListRow[]> {
  const names = await fs.promises.readdir(sessionDir).catch(() => []);
  const lists = names.flatMap((name) => {
    const run = segmentListRun(name);
    return run === undefined ? [] : [{ run, name }];
  });
  lists.sort((a, b) => a.run - b.run);
  const rows: SegmentListRow[] = [];
  for (const list of lists) rows.push(...(await readSegmentList(path.join(sessionDir, list.name))));
  return rows;
}

/** Reads every row of one finished list at once. */
export async function readSegmentList(file: string): Promise<SegmentListRow[]> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return splitCompleteLines(text).lines.flatMap((line) => parseSegmentListRow(line) ?? []);
}

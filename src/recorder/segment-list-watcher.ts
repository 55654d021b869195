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
 * `drain()` reads whatever is left after ffmpeg exits.
 */
export class SegmentListWatcher {
  private readonly file: string;
  private watcher: fs.FSWatcher | undefined;
  private offset = 0;
  private pending = '';
  private reading: Promise<void> = Promise.resolve();
  private handle: fs.promises.FileHandle | undefined;
  /** drain() was called: no watcher may be started any more. */
  private draining = false;
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
      if (changed === null || changed === name) this.scheduleRead();
    });
    this.scheduleRead();
  }

  /** Stops watching, reports the rows not yet reported, and closes the list. */
  async drain(): Promise<void> {
    this.draining = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.scheduleRead();
    await this.reading;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private scheduleRead(): void {
    this.reading = this.reading.then(() => this.readNew());
  }

  /**
   * Reads what was appended since the last read. The list is opened once and read on from where
   * the last read ended: a row costs one read, not an open, a stat and a close (issue 19).
   */
  private async readNew(): Promise<void> {
    if (!this.handle) {
      try {
        this.handle = await fs.promises.open(this.file, 'r');
      } catch {
        return; // not created yet: ffmpeg creates it as it starts
      }
      this.watchListOnly();
    }
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.offset);
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
      listWatcher = fs.watch(this.file, () => this.scheduleRead());
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

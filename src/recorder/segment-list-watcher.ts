import fs from 'node:fs';
import path from 'node:path';
import { segmentListRun } from './ffmpeg-args.js';
import { parseSegmentListRow, splitCompleteLines, type SegmentListRow } from './segment-list.js';

/**
 * Follows ffmpeg's segment list as it grows and reports each new row once, in order.
 * It watches the folder (inotify on Linux) rather than polling: a row is reported within
 * milliseconds of ffmpeg writing it. `drain()` reads whatever is left after ffmpeg exits.
 */
export class SegmentListWatcher {
  private readonly file: string;
  private watcher: fs.FSWatcher | undefined;
  private offset = 0;
  private pending = '';
  private reading: Promise<void> = Promise.resolve();

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

  /** Stops watching and reports the rows not yet reported. */
  async drain(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.scheduleRead();
    await this.reading;
  }

  private scheduleRead(): void {
    this.reading = this.reading.then(() => this.readNew());
  }

  private async readNew(): Promise<void> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, 'r');
    } catch {
      return; // not created yet: ffmpeg writes it after the first chunk
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const { lines, rest } = splitCompleteLines(this.pending + buffer.toString('utf8', 0, bytesRead));
      this.pending = rest;
      for (const line of lines) {
        const row = parseSegmentListRow(line);
        if (row) this.onRow(row);
        else this.onBadRow(line);
      }
    } finally {
      await handle.close();
    }
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

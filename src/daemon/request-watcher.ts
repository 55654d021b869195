import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { requestIdOfFile } from '../ipc/protocol.js';

/** How often the dir is listed when no inotify event came: the fallback for file systems without events. */
export const FALLBACK_POLL_MS = 5000;

/**
 * New request files, in arrival order. inotify (fs.watch) wakes it as a request appears, and
 * costs nothing while idle; a slow listing catches what an event missed (network file systems,
 * an overflowed inotify queue). Each file is reported once until `forget` (it was taken).
 * Arrival order: files found by one listing are ordered by mtime, then name (the seed's ids are
 * timestamps).
 */
export class RequestWatcher {
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly known = new Set<string>();
  private scanning = false;
  private again = false;

  constructor(
    private readonly dir: string,
    private readonly onRequest: (file: string) => void,
    private readonly pollMs = FALLBACK_POLL_MS,
  ) {}

  start(): void {
    try {
      this.watcher = fs.watch(this.dir, () => void this.scan());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No inotify here: the poll alone finds requests.
    }
    this.timer = setInterval(() => void this.scan(), this.pollMs);
    void this.scan();
  }

  /** The file was taken (or refused for good): a new file of that name is a new request. */
  forget(file: string): void {
    this.known.delete(path.basename(file));
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }

  private async scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        const listed = await fsp.readdir(this.dir).catch(() => undefined);
        // Unreadable for a moment: the next event or poll looks again (forgetting every name now would report them twice).
        if (!listed) continue;
        // A name that is gone is forgotten: one made again is a new request (a refused folder removed, then a file).
        const present = new Set(listed);
        for (const name of this.known) if (!present.has(name)) this.known.delete(name);
        const names = listed.filter((name) => !this.known.has(name) && requestIdOfFile(name) !== undefined);
        const found = await Promise.all(
          names.map(async (name) => ({
            name,
            mtime: await fsp.lstat(path.join(this.dir, name)).then(
              (s) => s.mtimeMs,
              () => undefined,
            ),
          })),
        );
        const fresh = found.filter((f): f is { name: string; mtime: number } => f.mtime !== undefined && !this.known.has(f.name));
        fresh.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const { name } of fresh) {
          this.known.add(name);
          this.onRequest(path.join(this.dir, name));
        }
      } while (this.again);
    } finally {
      this.scanning = false;
    }
  }
}

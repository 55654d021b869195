import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { backupSuffix, backupsToDelete, nextRollover, periodStart, type TimeRotationRule } from './time-rotation.js';

export interface TimedRotatingStreamOptions {
  /** The active file, e.g. `<session>/session.log`; it always keeps this name. */
  filePath: string;
  rule: TimeRotationRule;
  /** Backups kept; 0 keeps all (Python's TimedRotatingFileHandler). */
  backupCount: number;
  mode?: number;
  now?: () => Date;
}

/**
 * A Writable over a file that rolls over in time as TimedRotatingFileHandler does (see
 * time-rotation.ts). Each write() is one log line and goes whole into one file: the rollover
 * check runs before a write, never inside one. Emits `rotated` with the backup's path.
 */
export class TimedRotatingStream extends Writable {
  private file: FileHandle | undefined;
  private rolloverAt = 0;
  private readonly now: () => Date;

  constructor(private readonly options: TimedRotatingStreamOptions) {
    super({ decodeStrings: true });
    this.now = options.now ?? (() => new Date());
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.open(this.now().getTime()).then(() => callback(), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeLine(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.closeFile().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeFile().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Opens the active file; the next boundary is counted from `now`, so after a long quiet spell there is one backup, not many (as Python). */
  private async open(now: number): Promise<void> {
    this.file = await fs.open(this.options.filePath, 'a', this.options.mode ?? 0o600);
    this.rolloverAt = nextRollover(this.options.rule, now);
  }

  private async writeLine(chunk: Buffer): Promise<void> {
    const now = this.now().getTime();
    if (now >= this.rolloverAt) await this.rollover(now);
    let written = 0;
    while (written < chunk.length) written += (await this.file!.write(chunk, written)).bytesWritten;
  }

  private async rollover(now: number): Promise<void> {
    const { filePath, rule, backupCount } = this.options;
    await this.closeFile();
    const target = await freeName(`${filePath}.${backupSuffix(rule, periodStart(rule, this.rolloverAt))}`);
    await fs.rename(filePath, target);
    const dir = path.dirname(filePath);
    for (const name of backupsToDelete(await fs.readdir(dir), path.basename(filePath), rule.when, backupCount)) {
      await fs.rm(path.join(dir, name), { force: true });
    }
    await this.open(now);
    this.emit('rotated', target);
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }
}

/**
 * Python removes an existing backup of the same name; we never delete log lines, so a clash
 * (only possible if the clock goes backwards) gets a `.1`, `.2`, … suffix instead.
 */
async function freeName(candidate: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = n === 0 ? candidate : `${candidate}.${n}`;
    try {
      await fs.access(name);
    } catch {
      return name;
    }
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sizeRolloverDue, sizeRolloverRenames, type RotationPlan } from './rotation-options.js';
import { backupSuffix, backupsToDelete, nextRollover, periodStart } from './time-rotation.js';

const write = promisify(fs.write);
const open = promisify(fs.open);
const close = promisify(fs.close);
const ftruncate = promisify(fs.ftruncate);

/** One whole line (with its `\n`) waiting for the file. */
export interface QueuedLine {
  /** The line as formatted, without `\n`: what is replayed on stderr if the file fails. */
  line: string;
  bytes: Buffer;
  /** When it was logged (ms): time rotation decides by this, as Python decides at emit time. */
  time: number;
  /** Never dropped when the queue is full, and replayed on stderr if it did not reach the file. */
  mustKeep: boolean;
}

export interface LogFileOptions {
  filePath: string;
  plan: RotationPlan;
  mode?: number;
  /**
   * Formats the lines the writer itself adds: the header of each file after a rotation
   * (`log_continued`, INFO) and the count of lines dropped by a full queue (`log_lines_dropped`, WARNING).
   */
  formatLine: (level: 'info' | 'warning', message: string, fields: Record<string, string | number>, time: Date) => string;
  /** Called once, when the file cannot be opened or written: the error and the lines that did not reach it. */
  onFailure: (error: NodeJS.ErrnoException, lost: readonly QueuedLine[]) => void;
  /** The clock for time rotation (ms); Date.now in production. */
  now?: () => number;
  /** Bytes queued beyond which ordinary lines are dropped (and counted); `mustKeep` lines get 8 times as much. */
  maxQueuedBytes?: number;
}

/** Bytes written per write(2): large enough to keep up with a flood, small enough to cut back cheaply. */
const BATCH_BYTES = 64 * 1024;
/** Failures that freeing disk space can cure. */
const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);
const MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * session.log and its backups: one file descriptor, lines written whole and in order, one write at
 * a time, and the one rotation mechanism for both size and time policies — the rollover check runs
 * between lines, never inside one. Memory is bounded: past `maxQueuedBytes` waiting, ordinary lines
 * are dropped and their number written once the queue drains. A failed write is cut back to the
 * last whole line (a full disk leaves no torn `2026-`), then the writer stops and reports once.
 */
export class LogFile {
  private fd: number | undefined;
  /** Bytes in the active file, counted rather than stat'ed: we are its only writer. */
  private size = 0;
  /** The continuation header's bytes at the top of the active file (0 for the first file). */
  private headerBytes = 0;
  private fileSeq = 1;
  private rolloverAt = 0;
  private queue: QueuedLine[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private pumping: Promise<void> | undefined;
  private failed = false;
  private failureCode: string | undefined;
  /** close() was called: no more lines (the fd itself is briefly unset during every rollover). */
  private closing = false;
  private readonly now: () => number;

  /** Opens (creates) the file now, synchronously, so that a session's log exists before capture begins. */
  constructor(private readonly options: LogFileOptions) {
    this.now = options.now ?? Date.now;
    try {
      this.fd = fs.openSync(options.filePath, 'a', options.mode ?? 0o600);
      this.size = fs.fstatSync(this.fd).size;
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException, []);
      return;
    }
    if (options.plan.kind === 'time') this.rolloverAt = nextRollover(options.plan.rule, this.now());
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  /**
   * After a failure for want of space (ENOSPC, EDQUOT), once room was freed: opens the file again
   * and goes on writing; true if it did. Lines appended while it had failed were put elsewhere by
   * the caller (or lost): the caller says so in the file.
   */
  reopen(): boolean {
    if (!this.failed || this.closing || !SPACE_CODES.has(this.failureCode ?? '')) return false;
    try {
      this.fd = fs.openSync(this.options.filePath, 'a', this.options.mode ?? 0o600);
      this.size = fs.fstatSync(this.fd).size;
    } catch {
      return false;
    }
    this.failed = false;
    this.failureCode = undefined;
    return true;
  }

  /** Queues a line; false if the file has failed or is closed, and the caller must put it elsewhere. */
  append(line: string, time: number, mustKeep: boolean): boolean {
    if (this.failed || this.closing) return false;
    const entry = queuedLine(line, time, mustKeep);
    // Warnings, errors and lifecycle lines get more room, but not unlimited room either.
    const limit = (this.options.maxQueuedBytes ?? MAX_QUEUED_BYTES) * (mustKeep ? 8 : 1);
    if (this.queuedBytes + entry.bytes.length > limit) {
      this.dropped++;
      return true;
    }
    this.enqueue(entry);
    this.kick();
    return true;
  }

  /** Writes every queued line, then closes the file. Safe to call twice. */
  async close(): Promise<void> {
    this.closing = true;
    // Bounded by the pump: the queue is capped (lines beyond it are dropped and counted) and each pass writes or fails.
    while (this.pumping) await this.pumping;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await close(fd).catch(() => undefined);
  }

  private enqueue(entry: QueuedLine, first = false): void {
    if (first) this.queue.unshift(entry);
    else this.queue.push(entry);
    this.queuedBytes += entry.bytes.length;
  }

  private kick(): void {
    if (this.pumping || this.failed) return;
    this.pumping = this.pump().then(() => {
      this.pumping = undefined;
      // A line queued between the pump's last look and now.
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Writes batches until the queue is empty; never rejects (a failure ends in `fail`). */
  private async pump(): Promise<void> {
    while (!this.failed) {
      if (this.queue.length === 0 && this.dropped > 0) {
        const time = this.now();
        this.enqueue(
          queuedLine(this.options.formatLine('warning', 'log_lines_dropped', { count: this.dropped }, new Date(time)), time, true),
        );
        this.dropped = 0;
      }
      if (this.queue.length === 0) return;
      const count = this.linesBeforeRollover();
      try {
        if (count === 0) await this.rollover(this.queue[0]!.time);
        else await this.writeLines(count);
      } catch (error) {
        this.fail(error as NodeJS.ErrnoException, this.queue);
      }
    }
  }

  /** How many queued lines go into the active file in the next write (0: roll over first). */
  private linesBeforeRollover(): number {
    let bytes = 0;
    let count = 0;
    for (const entry of this.queue) {
      if (this.rolloverDue(entry, this.size + bytes) || (count > 0 && bytes + entry.bytes.length > BATCH_BYTES)) break;
      bytes += entry.bytes.length;
      count++;
    }
    return count;
  }

  private rolloverDue(entry: QueuedLine, fileBytes: number): boolean {
    const plan = this.options.plan;
    switch (plan.kind) {
      case 'none':
        return false;
      case 'size':
        return sizeRolloverDue(fileBytes, this.headerBytes, entry.bytes.length, plan.maxBytes);
      case 'time':
        return entry.time >= this.rolloverAt;
    }
  }

  /** Writes the first `count` queued lines whole; on an error, cuts the file back to the last whole line. */
  private async writeLines(count: number): Promise<void> {
    const batch = this.queue.slice(0, count);
    const buffer = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((entry) => entry.bytes));
    let written = 0;
    try {
      while (written < buffer.length) written += (await write(this.fd!, buffer, written, buffer.length - written, null)).bytesWritten;
    } catch (error) {
      let whole = 0;
      let done = 0;
      while (done < batch.length && whole + batch[done]!.bytes.length <= written) whole += batch[done++]!.bytes.length;
      if (written > whole) await ftruncate(this.fd!, this.size + whole).catch(() => undefined);
      this.size += whole;
      this.dequeue(done);
      throw error;
    }
    this.size += buffer.length;
    this.dequeue(count);
  }

  private dequeue(count: number): void {
    for (const entry of this.queue.splice(0, count)) this.queuedBytes -= entry.bytes.length;
  }

  /** Closes the active file, renames it to its backup as Python does, and opens a new one that says what it continues. */
  private async rollover(time: number): Promise<void> {
    const { filePath, plan } = this.options;
    await close(this.fd!);
    this.fd = undefined;
    let previous: string;
    if (plan.kind === 'size') {
      for (const [from, to] of sizeRolloverRenames(filePath, plan.backupCount)) {
        await fs.promises.rename(from, to).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
      previous = `${filePath}.1`;
    } else if (plan.kind === 'time') {
      previous = await freeName(`${filePath}.${backupSuffix(plan.rule, periodStart(plan.rule, this.rolloverAt))}`);
      await fs.promises.rename(filePath, previous);
      const dir = path.dirname(filePath);
      for (const name of backupsToDelete(await fs.promises.readdir(dir), path.basename(filePath), plan.rule.when, plan.backupCount)) {
        await fs.promises.rm(path.join(dir, name), { force: true });
      }
      // Counted from now, so after a long quiet spell there is one backup, not many (as Python).
      this.rolloverAt = nextRollover(plan.rule, time);
    } else {
      throw new Error('rollover without a rotation plan');
    }
    this.fd = await open(filePath, 'a', this.options.mode ?? 0o600);
    this.size = 0;
    this.fileSeq++;
    const header = this.options.formatLine(
      'info',
      'log_continued',
      { session_id: path.basename(path.dirname(filePath)), file_seq: this.fileSeq, previous: path.basename(previous) },
      new Date(time),
    );
    this.enqueue(queuedLine(header, time, true), true);
    this.headerBytes = this.queue[0]!.bytes.length;
  }

  private fail(error: NodeJS.ErrnoException, lost: readonly QueuedLine[]): void {
    if (this.failed) return;
    this.failed = true;
    this.failureCode = error.code;
    const unsent = [...lost];
    this.queue = [];
    this.queuedBytes = 0;
    if (this.fd !== undefined) fs.close(this.fd, () => undefined);
    this.fd = undefined;
    this.options.onFailure(error, unsent);
  }
}

function queuedLine(line: string, time: number, mustKeep: boolean): QueuedLine {
  return { line, bytes: Buffer.from(`${line}\n`), time, mustKeep };
}

/**
 * Python removes an existing backup of the same name; we never delete log lines, so a clash
 * (only possible if the clock goes backwards) gets a `.1`, `.2`, … suffix instead.
 */
async function freeName(candidate: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = n === 0 ? candidate : `${candidate}.${n}`;
    try {
      await fs.promises.access(name);
    } catch {
      return name;
    }
  }
}

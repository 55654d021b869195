/**
 * Between ffmpeg's stderr and the session log: bounded log volume under any stderr rate.
 * Pure (the caller passes the clock), tested directly in test/unit-recorder.test.ts.
 *
 * - Identical consecutive lines are collapsed, as syslog's "last message repeated N times": the
 *   first is written, the rest are counted and written as one `repeated` summary when a different
 *   line comes, when the run has lasted `summaryIntervalMs`, or at the end.
 * - At most `maxLinesPerSecond` lines (summaries of repeats included) are written per second; the
 *   rest are counted and written as one `dropped` summary at most every `summaryIntervalMs`, and at the end.
 */
export type FloodGuardOutput =
  { kind: 'line'; line: string } | { kind: 'repeated'; line: string; count: number } | { kind: 'dropped'; count: number };

export interface FloodGuardOptions {
  maxLinesPerSecond: number;
  summaryIntervalMs: number;
}

/** 50 problem lines a second is far more than a healthy ffmpeg reports, and ~30 MB/h at worst. */
export const STDERR_FLOOD_LIMITS: FloodGuardOptions = { maxLinesPerSecond: 50, summaryIntervalMs: 10_000 };

/**
 * ffmpeg's own chatter (DEBUG, logged only at `debug`) gets more: at --no-realtime a healthy
 * ffmpeg says `Opening 'chunk_….wav' for writing` for dozens of chunks a second.
 */
export const STDERR_CHATTER_LIMITS: FloodGuardOptions = { maxLinesPerSecond: 200, summaryIntervalMs: 10_000 };

const WINDOW_MS = 1000;

export class StderrFloodGuard {
  private last: string | undefined;
  private repeats = 0;
  private repeatsSince = 0;
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowCount = 0;
  private dropped = 0;
  private droppedSince = 0;

  constructor(private readonly options: FloodGuardOptions = STDERR_FLOOD_LIMITS) {}

  /** What to write for one stderr line arriving at `now` (ms). */
  push(line: string, now: number): FloodGuardOutput[] {
    const out: FloodGuardOutput[] = [];
    if (line === this.last) {
      if (this.repeats++ === 0) this.repeatsSince = now;
    } else {
      this.endRun(now, out);
      this.last = line;
      this.admit({ kind: 'line', line }, 1, now, out);
    }
    this.summarizeDue(now, out);
    return out;
  }

  /** Something is held back (a run of repeats, dropped lines): `tick` has a summary to come. */
  get pending(): boolean {
    return this.repeats > 0 || this.dropped > 0;
  }

  /** The summaries that are due at `now`; call it about once a second so that they come even when ffmpeg falls silent. */
  tick(now: number): FloodGuardOutput[] {
    const out: FloodGuardOutput[] = [];
    this.summarizeDue(now, out);
    return out;
  }

  /** Every count still pending, e.g. when ffmpeg has exited. */
  flush(now: number): FloodGuardOutput[] {
    const out: FloodGuardOutput[] = [];
    this.endRun(now, out);
    this.last = undefined;
    this.summarizeDropped(out);
    return out;
  }

  private summarizeDue(now: number, out: FloodGuardOutput[]): void {
    if (this.repeats > 0 && now - this.repeatsSince >= this.options.summaryIntervalMs) this.endRun(now, out);
    if (this.dropped > 0 && now - this.droppedSince >= this.options.summaryIntervalMs) this.summarizeDropped(out);
  }

  /** Writes the count of the current run of repeats (if any); the next identical line starts a new count. */
  private endRun(now: number, out: FloodGuardOutput[]): void {
    if (this.repeats === 0 || this.last === undefined) return;
    this.admit({ kind: 'repeated', line: this.last, count: this.repeats }, this.repeats, now, out);
    this.repeats = 0;
  }

  /** Writes `output` if this second's budget allows, else counts the `lines` it stands for as dropped. */
  private admit(output: FloodGuardOutput, lines: number, now: number, out: FloodGuardOutput[]): void {
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.windowCount < this.options.maxLinesPerSecond) {
      this.windowCount++;
      out.push(output);
      return;
    }
    if (this.dropped === 0) this.droppedSince = now;
    this.dropped += lines;
  }

  private summarizeDropped(out: FloodGuardOutput[]): void {
    if (this.dropped === 0) return;
    out.push({ kind: 'dropped', count: this.dropped });
    this.dropped = 0;
  }
}

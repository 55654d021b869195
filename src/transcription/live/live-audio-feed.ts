import { roundToMs } from '../../round-seconds.js';

/**
 * The audio ffmpeg streams on stdout while it records, on its way to a streaming engine. Pure:
 * the caller pushes what it reads (always, at once: ffmpeg must never wait on us) and takes
 * blocks when the engine has room. Past `maxBufferedSeconds` waiting, new audio is dropped and
 * counted (a slow, dead or stopped engine costs transcript, never recording); the dropped
 * stretches are kept so the chunks they touch are filled per chunk later.
 *
 * Session time is counted per ffmpeg run: each run's audio starts where `beginRun` says (the
 * anchor its chunks have), so after a restart the live text stays where the chunks put that
 * audio, not earlier by the gap nothing was captured in.
 */
export interface LiveBlock {
  /** Session seconds where this block's first sample was captured. */
  sessionStart: number;
  pcm: Buffer;
}

/**
 * Between two runs: the previous run's audio ends at `sessionStart`, the next one's starts at
 * `resumesAt`, and nothing was captured in between.
 */
export interface LiveGap {
  sessionStart: number;
  resumesAt: number;
}

export interface SessionSpan {
  start: number;
  end: number;
}

export interface LiveAudioFeedOptions {
  sampleRate: number;
  maxBufferedSeconds: number;
}

const BYTES_PER_SAMPLE = 2;

export class LiveAudioFeed {
  private readonly queue: Array<LiveBlock | LiveGap> = [];
  private readonly bytesPerSecond: number;
  private readonly maxBufferedBytes: number;
  private bufferedBytes = 0;
  private capturedBytes = 0;
  /** Session seconds where the current run's audio starts, and the bytes it has given. */
  private runStart = 0;
  private runBytes = 0;
  /** Session seconds where the audio read so far ends (a run that gave none does not move it). */
  private readUntil = 0;
  /** An odd trailing byte of the last read: a sample split across two reads. */
  private carry: Buffer | undefined;
  private dropped = 0;
  private readonly dropSpans: SessionSpan[] = [];
  /** When (wall ms) audio up to `end` (session seconds) had been read: for honest latency. */
  private readonly marks: Array<{ end: number; at: number }> = [];

  constructor(options: LiveAudioFeedOptions) {
    this.bytesPerSecond = options.sampleRate * BYTES_PER_SAMPLE;
    this.maxBufferedBytes = Math.round(options.maxBufferedSeconds * this.bytesPerSecond);
  }

  /** Seconds of audio read so far, all runs together. */
  get capturedSeconds(): number {
    return this.capturedBytes / this.bytesPerSecond;
  }

  /** The session second where the audio read so far ends. */
  get capturedUntil(): number {
    return this.readUntil;
  }

  get bufferedSeconds(): number {
    return this.bufferedBytes / this.bytesPerSecond;
  }

  get droppedSeconds(): number {
    return roundToMs(this.dropped / this.bytesPerSecond);
  }

  /** The stretches of session time that never reached the engine. */
  get drops(): readonly SessionSpan[] {
    return this.dropSpans;
  }

  /**
   * A new ffmpeg run, whose first sample is at session second `sessionStart`. After audio of an
   * earlier run a gap is queued, never dropped: the engine must learn that the stream breaks
   * there (it is one small entry per run).
   */
  beginRun(sessionStart: number): void {
    // Half a sample from a run that is gone has no pair to come.
    this.carry = undefined;
    // Only after a run that gave audio: runs that gave none in a row make one gap.
    if (this.runBytes > 0) this.queue.push({ sessionStart: this.capturedUntil, resumesAt: sessionStart });
    this.runStart = sessionStart;
    this.runBytes = 0;
  }

  /** Takes what ffmpeg wrote, read at wall time `at` (ms). */
  push(data: Buffer, at: number): void {
    let pcm = this.carry ? Buffer.concat([this.carry, data]) : data;
    this.carry = undefined;
    if (pcm.length % BYTES_PER_SAMPLE !== 0) {
      this.carry = pcm.subarray(pcm.length - 1);
      pcm = pcm.subarray(0, pcm.length - 1);
    }
    if (pcm.length === 0) return;
    const sessionStart = this.runStart + this.runBytes / this.bytesPerSecond;
    this.capturedBytes += pcm.length;
    this.runBytes += pcm.length;
    const sessionEnd = this.runStart + this.runBytes / this.bytesPerSecond;
    this.readUntil = sessionEnd;
    this.marks.push({ end: sessionEnd, at });
    if (this.bufferedBytes + pcm.length > this.maxBufferedBytes) {
      this.dropped += pcm.length;
      const last = this.dropSpans.at(-1);
      if (last && Math.abs(last.end - sessionStart) < 1e-9) last.end = sessionEnd;
      else this.dropSpans.push({ start: sessionStart, end: sessionEnd });
      return;
    }
    // Copied: a stream may reuse the buffer it handed us.
    this.queue.push({ sessionStart, pcm: Buffer.from(pcm) });
    this.bufferedBytes += pcm.length;
  }

  /** The oldest block (or gap between runs) waiting for the engine, if any. */
  take(): LiveBlock | LiveGap | undefined {
    const block = this.queue.shift();
    if (block && 'pcm' in block) this.bufferedBytes -= block.pcm.length;
    return block;
  }

  /** Whether any audio in [start, end) was dropped. */
  droppedWithin(span: SessionSpan): boolean {
    return this.dropSpans.some((d) => d.start < span.end - 1e-6 && d.end > span.start + 1e-6);
  }

  /** Wall time (ms) when the audio at session second `t` had been read; undefined past what was read. */
  capturedAt(t: number): number | undefined {
    for (const mark of this.marks) if (mark.end >= t - 1e-6) return mark.at;
    return undefined;
  }

  /** Forgets the read times before session second `t` (final text never asks for them again). */
  forgetBefore(t: number): void {
    let n = 0;
    while (n < this.marks.length - 1 && this.marks[n]!.end < t) n++;
    if (n > 0) this.marks.splice(0, n);
  }
}

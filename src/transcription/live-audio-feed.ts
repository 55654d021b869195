import { roundToMs } from './round-seconds.js';

/**
 * The audio ffmpeg streams on stdout while it records, on its way to a streaming engine. Pure:
 * the caller pushes what it reads (always, at once: ffmpeg must never wait on us) and takes
 * blocks when the engine has room. Past `maxBufferedSeconds` waiting, new audio is dropped and
 * counted (a slow, dead or stopped engine costs transcript, never recording); the dropped
 * stretches are kept so the chunks they touch are filled per chunk later.
 */
export interface LiveBlock {
  /** Session seconds where this block's first sample was captured. */
  sessionStart: number;
  pcm: Buffer;
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
  private readonly queue: LiveBlock[] = [];
  private readonly bytesPerSecond: number;
  private readonly maxBufferedBytes: number;
  private bufferedBytes = 0;
  private capturedBytes = 0;
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

  /** Session seconds of audio read so far. */
  get capturedSeconds(): number {
    return this.capturedBytes / this.bytesPerSecond;
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

  /** Takes what ffmpeg wrote, read at wall time `at` (ms). */
  push(data: Buffer, at: number): void {
    let pcm = this.carry ? Buffer.concat([this.carry, data]) : data;
    this.carry = undefined;
    if (pcm.length % BYTES_PER_SAMPLE !== 0) {
      this.carry = pcm.subarray(pcm.length - 1);
      pcm = pcm.subarray(0, pcm.length - 1);
    }
    if (pcm.length === 0) return;
    const sessionStart = this.capturedBytes / this.bytesPerSecond;
    this.capturedBytes += pcm.length;
    const sessionEnd = this.capturedBytes / this.bytesPerSecond;
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

  /** The oldest block waiting for the engine, if any. */
  take(): LiveBlock | undefined {
    const block = this.queue.shift();
    if (block) this.bufferedBytes -= block.pcm.length;
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

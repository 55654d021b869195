/** A decoder that reads nothing for this long while audio waits for it (stopped, hung) ends the live path. */
export const STALL_MS = 3000;

export type ReadProgress = 'moved' | 'still' | 'stalled';

/**
 * Pure: how far the stream decoder has got. The stream it reads is the captured audio plus the breaks echolog
 * adds, so stream seconds and session seconds part. This keeps the end of what was written on both scales, what
 * the decoder has read (a look at /proc per tick), and when that last moved: the stall watch.
 */
export class DecoderPosition {
  private session = 0;
  private stream = 0;
  /** Stream seconds the decoder had read at the last look (none before the first). */
  private read: number | undefined;
  /** The last look could not tell (no /proc): cuts are judged on what was written. */
  private readUnknown = false;
  private readChangedAtMs = 0;

  /** Session seconds of captured audio written to the decoder. */
  get sessionWritten(): number {
    return this.session;
  }

  /** Stream seconds written (captured audio and added breaks). */
  get streamWritten(): number {
    return this.stream;
  }

  /** Audio written: it ends at session second `sessionEnd` and lasts `seconds`. */
  wroteAudio(sessionEnd: number, seconds: number): void {
    this.session = sessionEnd;
    this.stream += seconds;
  }

  /** A break written (`seconds` of stream); after a capture restart the session resumes at `resumesAt`. */
  wroteBreak(seconds: number, resumesAt?: number): void {
    this.stream += seconds;
    if (resumesAt !== undefined) this.session = Math.max(this.session, resumesAt);
  }

  /**
   * One look at what the decoder has read. With nothing waiting for it (`idle`) a still decoder is no stall;
   * with audio waiting, STALL_MS without a change is.
   */
  observe(read: number | undefined, nowMs: number, idle: boolean): ReadProgress {
    this.readUnknown = read === undefined;
    if (read !== this.read || idle) {
      this.read = read;
      this.readChangedAtMs = nowMs;
      return 'moved';
    }
    return nowMs - this.readChangedAtMs > STALL_MS ? 'stalled' : 'still';
  }

  /** The decoder has read the stream up to `streamEnd` (false when that cannot be told). */
  hasRead(streamEnd: number): boolean {
    return this.read !== undefined && this.read >= streamEnd - 1e-6;
  }

  /**
   * Session seconds of captured audio the decoder has read: what "no utterance end for so long" is judged on.
   * Judged on the audio written instead, a decoder running a few seconds behind (a loaded machine) would get
   * silence added between sentences it had not yet heard end, and each second of it changes the words (issue
   * 18). Breaks still unread count as unread audio: the estimate errs late, never early. A decoder whose reads
   * cannot be told (no /proc) is taken to have heard what was written.
   */
  heardUntil(): number {
    if (this.readUnknown) return this.session;
    return Math.max(0, this.session - Math.max(0, this.stream - (this.read ?? 0)));
  }
}

/**
 * The engine's wall-clock busy time, shared out among the chunks in flight: each moment with n
 * chunks in flight counts 1/n to each. A chunk's share is then its part of the union of the
 * in-flight intervals (the shares of all chunks add up to that union), so two 6 s requests side
 * by side are 6 s of the recorder's time, 3 s each, not 12; one at a time a share is the chunk's
 * own compute time. Pure: the caller gives the clock readings.
 */
export class SharedBusyTime {
  /** Milliseconds attributed so far to each chunk in flight. */
  private readonly shares = new Map<object, number>();
  private lastMs = 0;

  /** `chunk` is in flight from `nowMs`. */
  begin(chunk: object, nowMs: number): void {
    this.advance(nowMs);
    this.shares.set(chunk, 0);
  }

  /** `chunk` is done (or failed) at `nowMs`: its share of the busy time, in seconds. */
  end(chunk: object, nowMs: number): number {
    this.advance(nowMs);
    const ms = this.shares.get(chunk) ?? 0;
    this.shares.delete(chunk);
    return ms / 1000;
  }

  private advance(nowMs: number): void {
    const n = this.shares.size;
    // A clock that steps back adds nothing (staleness never depends on the clock running forward).
    const each = n > 0 ? Math.max(0, nowMs - this.lastMs) / n : 0;
    for (const [chunk, ms] of this.shares) this.shares.set(chunk, ms + each);
    this.lastMs = nowMs;
  }
}

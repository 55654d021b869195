/** One chunk's place in the commit order. */
export interface CommitTurn {
  /** Resolves once every earlier turn is released: this chunk may write its text now. */
  ready(): Promise<void>;
  /** This chunk is done (written, failed or abandoned); later chunks may go on. Idempotent. */
  release(): void;
}

/**
 * Chunks transcribed several at a time, written in chunk order: turns are taken in queue order
 * and each waits for every earlier one to be released, whatever order their answers come in.
 */
export class CommitOrder {
  private last: Promise<void> = Promise.resolve();

  take(): CommitTurn {
    const earlier = this.last;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.last = Promise.all([earlier, released]).then(() => undefined);
    return { ready: () => earlier, release };
  }
}

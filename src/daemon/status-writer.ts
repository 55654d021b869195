import { writeFileAtomic } from '../files/durable-write.js';
import { STATUS_HEARTBEAT_MS, unixSeconds, type DaemonStatus } from '../ipc/protocol.js';

export type StatusState = Omit<DaemonStatus, 'timestamp'>;

/**
 * session_daemon_status.json, rewritten atomically (no fsync: it describes a live process) on every change and at least every
 * STATUS_HEARTBEAT_MS, so a reader can tell a live daemon from a hung one by its timestamp.
 * Writes never overlap and never wait in the request path: a change during a write is written
 * right after it, once.
 */
export class StatusWriter {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private state: StatusState,
    private readonly onError: (error: Error) => void,
  ) {}

  get current(): StatusState {
    return this.state;
  }

  startHeartbeat(): void {
    this.timer = setInterval(() => this.update({}), STATUS_HEARTBEAT_MS);
  }

  update(change: Partial<StatusState>): void {
    this.state = { ...this.state, ...change };
    this.dirty = true;
    if (!this.writing) this.writing = this.drain();
  }

  /** Resolves once the latest state is on disk. */
  async flush(): Promise<void> {
    await this.writing;
  }

  /** Stops the heartbeat and flushes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await writeFileAtomic(
          this.file,
          `${JSON.stringify({ ...this.state, timestamp: unixSeconds(Date.now()) } satisfies DaemonStatus, null, 2)}\n`,
        ).catch((error: Error) => this.onError(error));
      }
    } finally {
      this.writing = undefined;
    }
  }
}

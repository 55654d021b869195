import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../files/durable-write.js';
import { readLiveness } from '../../ipc/daemon-state.js';
import { checkIpcRoot } from '../../ipc/ipc-root.js';
import type { IpcPaths } from '../../ipc/ipc-paths.js';
import { parseResponse, unixSeconds, type DaemonRequest, type DaemonResponse, type DaemonStatus } from '../../ipc/protocol.js';
import type { LogFields } from '../../logging/line-format.js';
import type { EngineChunk, TranscriptionEngine, TranscriptSegment } from './engine.js';

export interface DaemonEngineOptions {
  paths: IpcPaths;
  /** Seconds to wait for one response (transcription.daemon_timeout). */
  timeoutSeconds: number;
  /**
   * Seconds start() waits for a ready daemon (transcription.ready_timeout). It gives up a moment
   * before the caller's own bound, so the rejection says why the daemon is not ready.
   */
  readyTimeoutSeconds: number;
  /** How often the readiness check and the response wait look again, besides inotify. */
  pollMs?: number;
}

/**
 * A client of the seed-004 session daemon (echolog's own or any compliant one): each chunk is
 * one request `{id, audio_file, timestamp}`; the response `{id, results[], …}` is awaited up to
 * the timeout, read and deleted. The daemon sees only the chunk's path, so it must be able to
 * read the recordings dir (the same user). A timeout or an `error` in the response rejects, so
 * the transcriber retries the chunk and finally leaves it for `echolog transcribe`.
 */
export class DaemonEngine implements TranscriptionEngine {
  readonly name = 'daemon';
  private status: DaemonStatus | undefined;
  private lastId = 0n;
  private readonly pollMs: number;

  constructor(private readonly options: DaemonEngineOptions) {
    this.pollMs = options.pollMs ?? 50;
  }

  get attemptTimeoutMs(): number {
    return this.options.timeoutSeconds * 1000;
  }

  get model(): string {
    return this.status?.model_size ?? '';
  }

  /** pid, device and model of the daemon, for session_start. */
  startFields(): LogFields {
    return this.status
      ? {
          daemon_pid: this.status.pid,
          daemon_device: this.status.device,
          daemon_model: this.status.model_size,
          daemon_root: this.options.paths.root,
        }
      : {};
  }

  /**
   * Seed 001's handshake: waits until the marker is present, its pid alive and the status fresh
   * with the model loaded. The caller bounds the wait (ready_timeout); the rejection says why.
   */
  async start(): Promise<void> {
    // Deadlines on the monotonic clock: a clock stepped back must not stretch them.
    const deadline = performance.now() + Math.max(this.options.readyTimeoutSeconds * 1000 - 200, 0);
    for (;;) {
      const kind = await checkIpcRoot(this.options.paths, false);
      const live = kind === 'missing' ? undefined : await readLiveness(this.options.paths);
      if (live?.state === 'ready') {
        this.status = live.status;
        return;
      }
      const why =
        live === undefined || live.state === 'absent'
          ? `no session daemon on ${this.options.paths.root} (start one with \`echolog daemon start\`)`
          : live.why;
      // Another account's marker or status is never believed, and waiting does not change whose it is.
      const foreign = live?.state === 'not_ready' && live.foreign === true;
      if (foreign || performance.now() >= deadline) throw new Error(`the session daemon is not ready: ${why}`);
      await sleep(this.pollMs * 2);
    }
  }

  async transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]> {
    const response = await this.request(chunk.path);
    if (response.error !== undefined) throw new Error(`the session daemon answered: ${response.error}`);
    const text = response.results
      .map((r) => r.trim())
      .filter(Boolean)
      .join(' ');
    // The protocol carries no times: the text spans its chunk.
    return text ? [{ start: chunk.offsetSeconds, end: chunk.offsetSeconds + chunk.durationSeconds, text }] : [];
  }

  async flush(): Promise<TranscriptSegment[]> {
    return [];
  }

  async close(): Promise<void> {
    // Nothing held between requests: the daemon keeps the model, the client only files.
  }

  /** One request/response round trip; the response file is deleted once read. */
  async request(audioFile: string): Promise<DaemonResponse> {
    const { paths, timeoutSeconds } = this.options;
    const id = this.nextId();
    const requestFile = path.join(paths.requests, `${id}.json`);
    const responseFile = path.join(paths.responses, `${id}.json`);
    const request: DaemonRequest = { id, audio_file: path.resolve(audioFile), timestamp: unixSeconds(Date.now()) };
    // Atomic (temp + rename): the daemon never reads half a request of ours. No fsync: after a crash it is retried anyway.
    await writeFileAtomic(requestFile, `${JSON.stringify(request)}\n`);
    try {
      const response = await this.awaitResponse(responseFile, id, timeoutSeconds * 1000);
      if (response) return response;
    } finally {
      await fsp.rm(responseFile, { force: true }).catch(() => undefined);
    }
    // Not taken by a daemon that died or hung: withdraw it, so a restarted daemon does not answer it to no one.
    await fsp.rm(requestFile, { force: true }).catch(() => undefined);
    throw new Error(`no response from the session daemon on ${paths.root} within ${timeoutSeconds} s (transcription.daemon_timeout)`);
  }

  private async awaitResponse(file: string, id: string, timeoutMs: number): Promise<DaemonResponse | undefined> {
    const deadline = performance.now() + timeoutMs;
    let wake: (() => void) | undefined;
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(path.dirname(file), (_event, name) => {
        if (name === path.basename(file)) wake?.();
      });
      watcher.on('error', () => undefined);
    } catch {
      // No inotify: the poll alone sees it.
    }
    try {
      for (;;) {
        const response = await readResponse(file, id);
        if (response) return response;
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, this.pollMs * 4));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      watcher?.close();
    }
  }

  /**
   * The seed's ids are nanosecond timestamps; this one is strictly increasing within the client,
   * and the pid keeps two clients apart even in the same nanosecond.
   */
  private nextId(): string {
    const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    this.lastId = now > this.lastId ? now : this.lastId + 1n;
    return `${this.lastId}-${process.pid}`;
  }
}

/** The response in `file` for `id`, or undefined while there is none (or it is not one). */
async function readResponse(file: string, id: string): Promise<DaemonResponse | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const response = parseResponse(JSON.parse(text));
    return response?.id === id ? response : undefined;
  } catch {
    // A daemon that writes in place: not complete yet.
    return undefined;
  }
}

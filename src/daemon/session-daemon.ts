import fs from 'node:fs/promises';
import path from 'node:path';
import { createFileDurable, writeFileAtomic } from '../files/durable-write.js';
import { readOwnFile } from '../files/own-file.js';
import { EchologError } from '../errors.js';
import { AudioInputError, MIN_AUDIO_SECONDS, openEngineAudio, pcmSeconds, readAhead, type AudioAhead } from './audio-input.js';
import type { DaemonLog } from './daemon-log.js';
import { readLiveness, readMarker } from '../ipc/daemon-state.js';
import type { EngineHost } from './engine-host.js';
import { checkIpcRoot, unusableRoot } from '../ipc/ipc-root.js';
import type { IpcPaths } from '../ipc/ipc-paths.js';
import {
  buildResponse,
  isMarker,
  parseRequest,
  requestIdOfFile,
  unixSeconds,
  type DaemonMarker,
  type DaemonRequest,
  type Liveness,
} from '../ipc/protocol.js';
import { RequestWatcher } from './request-watcher.js';
import { StatusWriter } from './status-writer.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DaemonBusyError extends EchologError {}

/**
 * The error for a start on a root a daemon serves (or is loading on), or where another account's
 * marker or status sits (it can be neither believed nor replaced: the root cannot be used), or
 * undefined when it may start.
 */
export function busyError(root: string, live: Liveness): EchologError | undefined {
  if (live.state === 'absent' || (live.state === 'not_ready' && live.stale)) return undefined;
  if (live.state === 'not_ready' && live.foreign) return unusableRoot(root, live.why);
  const pid = live.state === 'ready' ? live.marker.pid : live.marker?.pid;
  const but = live.state === 'ready' ? '' : `, but ${live.why}`;
  return new DaemonBusyError(`a session daemon is already running on ${root} (pid ${pid})${but}; stop it with \`echolog daemon stop\``);
}

/** How long a request that does not parse is re-read (a client still writing it, as the seed's `cat >`) before it is answered as malformed. */
const PARSE_RETRY_MS = 1000;
/** A request is `{id, audio_file, timestamp}`: a few hundred bytes. More is not read. */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface SessionDaemonOptions {
  paths: IpcPaths;
  engine: EngineHost;
  log: DaemonLog;
  ffmpegPath: string;
  /** Seconds without a request before the daemon stops by itself (the seed's 600). */
  sessionTimeoutSeconds: number;
  /** `cpu`: neither hosted engine uses a GPU here. */
  device: string;
}

export type ShutdownReason = 'inactivity_timeout' | 'SIGTERM' | 'SIGINT' | 'error';

/**
 * The seed-004 session daemon: keeps one engine loaded and answers requests from the request
 * dir, one at a time in arrival order, until stopped or idle for `sessionTimeoutSeconds`.
 */
export class SessionDaemon {
  private readonly queue: string[] = [];
  /** Request paths answered once and left where they are (a folder, a FIFO): not reported again while they stay. */
  private readonly leftInPlace = new Set<string>();
  private watcher: RequestWatcher | undefined;
  private status: StatusWriter | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastActivityMs = Date.now();
  private serving: Promise<void> | undefined;
  private stopping = false;
  /** Ends the request in progress between two pieces of its audio when the daemon stops. */
  private requestAbort: AbortController | undefined;
  private ownsMarker = false;
  private resolveStopped!: (reason: ShutdownReason) => void;
  /** Resolves with the reason once the daemon has shut down cleanly. */
  readonly stopped = new Promise<ShutdownReason>((resolve) => (this.resolveStopped = resolve));

  constructor(private readonly options: SessionDaemonOptions) {}

  private get paths(): IpcPaths {
    return this.options.paths;
  }

  /**
   * Claims the root (marker), loads the engine and starts serving. The marker is written before
   * the model loads, with `model_loaded: false` in the status, so a client sees "loading", not
   * "absent"; a live daemon's marker refuses the start, a stale one (dead pid) is replaced.
   */
  async start(): Promise<void> {
    const { log } = this.options;
    await checkIpcRoot(this.paths, true);
    await this.claimMarker();
    this.status = new StatusWriter(
      this.paths.status,
      {
        active: true,
        model_loaded: false,
        device: this.options.device,
        model_size: this.options.engine.model,
        processing: false,
        last_activity: unixSeconds(this.lastActivityMs),
        session_timeout: this.options.sessionTimeoutSeconds,
        pid: process.pid,
      },
      (error) => log.write('WARNING', 'status_write_failed', { reason: error.message }),
    );
    this.status.update({});
    this.status.startHeartbeat();
    const loading = Date.now();
    await this.options.engine.start();
    // The inactivity timeout counts from ready: loading is not idleness.
    this.lastActivityMs = Date.now();
    this.status.update({ model_loaded: true, last_activity: unixSeconds(this.lastActivityMs) });
    await this.status.flush();
    log.write('INFO', 'daemon_ready', {
      pid: process.pid,
      engine: this.options.engine.name,
      model: this.options.engine.model,
      device: this.options.device,
      load_ms: Date.now() - loading,
      session_timeout: this.options.sessionTimeoutSeconds,
      root: this.paths.root,
    });
    this.armIdleTimer();
    this.watcher = new RequestWatcher(this.paths.requests, (file) => this.enqueue(file));
    this.watcher.start();
  }

  /** Stops taking requests, lets the one in progress finish, unloads the engine, removes the marker. */
  async stop(reason: ShutdownReason): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.idleTimer);
    this.watcher?.close();
    // A request of hours of audio would hold the stop for as long: it is answered with an error now.
    this.requestAbort?.abort(new Error(`the daemon is stopping (${reason})`));
    // An upload already sent (openai) sees no abort between audio pieces: closing the engine ends it.
    const closing = this.options.engine.closesMidRequest ? this.options.engine.close().catch(() => undefined) : undefined;
    await this.serving;
    await (closing ?? this.options.engine.close().catch(() => undefined));
    this.status?.update({ active: false, model_loaded: false, processing: false });
    await this.status?.close();
    await this.releaseMarker();
    this.options.log.write('INFO', 'daemon_stop', { pid: process.pid, reason });
    this.resolveStopped(reason);
  }

  private async claimMarker(): Promise<void> {
    const marker: DaemonMarker = { started: unixSeconds(Date.now()), pid: process.pid };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await createFileDurable(this.paths.marker, `${JSON.stringify(marker)}\n`);
        this.ownsMarker = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const live = await readLiveness(this.paths);
      if (live.state === 'absent') continue; // removed meanwhile
      const busy = busyError(this.paths.root, live);
      if (busy || live.state === 'ready') throw busy;
      this.options.log.write('WARNING', 'stale_marker_removed', { marker: this.paths.marker, reason: live.why });
      await fs.rm(this.paths.marker, { force: true });
    }
    throw new DaemonBusyError(`could not claim ${this.paths.marker}: another daemon is starting on ${this.paths.root}`);
  }

  /** Removes the marker only while it is still this daemon's (a successor may have replaced a marker we left). */
  private async releaseMarker(): Promise<void> {
    if (!this.ownsMarker) return;
    const marker = await readMarker(this.paths);
    if (isMarker(marker) && marker.pid === process.pid) await fs.rm(this.paths.marker, { force: true });
    this.ownsMarker = false;
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    // A request that ends because the daemon stops must not keep it alive until the timeout.
    if (this.stopping) return;
    const dueMs = this.lastActivityMs + this.options.sessionTimeoutSeconds * 1000 - Date.now();
    // setTimeout fires at once for more than 2^31 - 1 ms (~24.8 days): a longer timeout waits in pieces.
    this.idleTimer = setTimeout(
      () => {
        if (this.serving) return; // busy: the request's end re-arms it
        if (dueMs > MAX_TIMER_MS) return this.armIdleTimer();
        void this.stop('inactivity_timeout');
      },
      Math.min(Math.max(0, dueMs), MAX_TIMER_MS),
    );
  }

  private touch(): void {
    this.lastActivityMs = Date.now();
    this.status?.update({ last_activity: unixSeconds(this.lastActivityMs) });
    this.armIdleTimer();
  }

  private enqueue(file: string): void {
    if (this.stopping) return;
    this.queue.push(file);
    if (!this.serving) this.serving = this.serve();
  }

  private async serve(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopping) {
        const file = this.queue.shift()!;
        await this.handle(file).catch((error: Error) =>
          this.options.log.write('ERROR', 'request_failed', { file: path.basename(file), reason: error.message }),
        );
        // A request left in place (not a regular file) was answered once: the watcher reports it again only once it is gone and back.
        if (!this.leftInPlace.delete(file)) this.watcher?.forget(file);
      }
    } finally {
      this.serving = undefined;
      if (!this.stopping) this.armIdleTimer();
    }
  }

  private async handle(file: string): Promise<void> {
    const seenMs = Date.now();
    const taken = await this.take(file);
    if (!taken) return;
    this.touch();
    if (!taken.ok) {
      await this.respond(taken.id, [], taken.error, { seenMs, engineMs: 0, audioSeconds: 0 });
      return;
    }
    // The seed's clients wait for the response named after their request file: that name is the id.
    const request = { ...taken.request, id: taken.id };
    if (taken.request.id !== taken.id)
      this.options.log.write('WARNING', 'request_id_mismatch', { file: path.basename(file), id: taken.request.id, answered_as: taken.id });
    this.status!.update({ processing: true });
    const abort = new AbortController();
    this.requestAbort = abort;
    let audio: AudioAhead | undefined;
    try {
      const format = this.options.engine.audioFormat;
      const stopped = (): string => `${(abort.signal.reason as Error).message} before this request was finished; send it again`;
      try {
        const pieces = await openEngineAudio(request.audio_file, this.options.ffmpegPath, format, abort.signal);
        audio = await readAhead(pieces, Math.ceil(MIN_AUDIO_SECONDS * format.sampleRate) * 2);
      } catch (error) {
        if (!(error instanceof AudioInputError) && !abort.signal.aborted) throw error;
        await this.respond(request.id, [], abort.signal.aborted ? stopped() : (error as Error).message, {
          seenMs,
          engineMs: 0,
          audioSeconds: 0,
        });
        return;
      }
      if (audio.ended && pcmSeconds(audio.bytes, format.sampleRate) < MIN_AUDIO_SECONDS) {
        await this.respond(request.id, [], undefined, {
          seenMs,
          engineMs: 0,
          audioSeconds: pcmSeconds(audio.bytes, format.sampleRate),
          filtered: true,
        });
        return;
      }
      const engineStart = Date.now();
      let result: { texts: string[]; seconds: number };
      try {
        result = await this.options.engine.transcribe(audio.pieces, request.audio_file);
      } catch (error) {
        const why = abort.signal.aborted ? stopped() : `transcription failed: ${(error as Error).message}`;
        await this.respond(request.id, [], why, { seenMs, engineMs: Date.now() - engineStart, audioSeconds: 0 });
        return;
      }
      await this.respond(request.id, result.texts, undefined, { seenMs, engineMs: Date.now() - engineStart, audioSeconds: result.seconds });
    } finally {
      // An engine that failed before reading it all leaves ffmpeg waiting to write: end it.
      await audio?.close();
      this.requestAbort = undefined;
      this.status!.update({ processing: false });
      this.touch();
    }
  }

  /**
   * Reads and removes a request file, judged on its open descriptor (a FIFO or a folder planted
   * under a request's name never blocks or loops the daemon: it is answered once and left alone).
   * A file that does not parse is re-read for a moment (a client still writing it) before it is
   * answered as malformed; one that vanished was withdrawn.
   */
  private async take(
    file: string,
  ): Promise<{ ok: true; id: string; request: DaemonRequest } | { ok: false; id: string; error: string } | undefined> {
    const id = requestIdOfFile(path.basename(file))!;
    const deadline = Date.now() + PARSE_RETRY_MS;
    // Bounded by PARSE_RETRY_MS: a request that does not parse by then is answered as malformed.
    for (;;) {
      const read = await readOwnFile(file, MAX_REQUEST_BYTES);
      if (read === undefined) return undefined;
      if ('untrusted' in read) {
        this.leftInPlace.add(file);
        return { ok: false, id, error: `malformed request: ${read.untrusted}; it is left in place` };
      }
      const parsed = parseRequest(read.text);
      if (parsed.ok || Date.now() >= deadline) {
        await fs.rm(file, { force: true });
        return parsed.ok ? { ...parsed, id } : { ok: false, id, error: parsed.error };
      }
      await sleep(20);
    }
  }

  private async respond(
    id: string,
    results: string[],
    error: string | undefined,
    timing: { seenMs: number; engineMs: number; audioSeconds: number; filtered?: boolean },
  ): Promise<void> {
    const file = path.join(this.paths.responses, `${id}.json`);
    // Atomic, so a polling client never reads half of it; not fsynced: after a crash the client retries anyway.
    await writeFileAtomic(
      file,
      `${JSON.stringify(buildResponse(id, results, Date.now(), this.options.device, this.status?.current.model_loaded ?? false, error), null, 2)}\n`,
    );
    const fields = {
      id,
      audio_s: Number(timing.audioSeconds.toFixed(3)),
      engine_ms: timing.engineMs,
      total_ms: Date.now() - timing.seenMs,
      results: results.length,
    };
    if (error) this.options.log.write('WARNING', 'request_error', { ...fields, error });
    else this.options.log.write('INFO', 'SESSION transcription', { ...fields, ...(timing.filtered ? { filtered: 'too_short' } : {}) });
  }
}

import fs from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { overridesOf } from '../config/resolve-config.js';
import { DeviceLostError, DiskLowError, EchologError, InputDamagedError, StorageError, UsageError } from '../errors.js';
import { FfmpegExitError } from '../recorder/ffmpeg-exit-error.js';
import type { LogFields } from '../logging/line-format.js';
import { redactDevice } from '../logging/redact.js';
import { SessionLog, type Logger } from '../logging/session-log.js';
import { CaptureSupervisor, type CaptureOutcome } from '../capture/capture-supervisor.js';
import { ChunkMonitor } from '../capture/chunk-monitor.js';
import { canWriteIn, diskVerdict, freeBytes } from '../capture/disk-guard.js';
import { VERSION } from '../version.js';
import { readStartTicks } from '../process/process-identity.js';
import { acquireActiveLock, releaseActiveLock } from '../store/active-lock.js';
import { ChunkLedger } from './chunk-ledger.js';
import type { RecordingPlan } from '../capture/recording-plan.js';
import { ensureRecordingsDir } from '../store/recordings-dir.js';
import { recoverInterruptedSession, recoverOrphanedSessions } from './recover-session.js';
import type { RecordingEvent, SessionComponent } from '../transcription/session-component.js';
import type { LiveAudioConsumer } from '../capture/capture-outputs.js';
import { ManifestStore, manifestPath } from '../store/session-manifest.js';
import { DiskBallast } from './disk-ballast.js';
import { finalStatusFor, stopLevelFor, type StopReason } from '../store/stop-reason.js';
import { decideStopReason, exitCodeFor, SIGNALLED_STOP_BUDGET_MS, type StopRequest } from './stop-decision.js';
import { classifyStorageError, isDiskFullLine, type StorageFault } from './storage-fault.js';
import { folderBytes } from '../store/session-files.js';
import { formatMib } from '../format-bytes.js';

/**
 * recording/ is one run of `echolog record`, and this is its spine. The flow, in order:
 *
 * 1. plan (capture/recording-plan.ts): the config as one ffmpeg argv, the session folder, the input.
 * 2. claim: the active lock (store/active-lock.ts), the session folder, its disk ballast, session.json and
 *    session.log (`session_start`); a session left recording by an echolog that died is finished first (recover-session.ts).
 * 3. capture (capture/capture-supervisor.ts): ffmpeg runs, restarts, stalls, device loss; each finished chunk
 *    goes to the chunk ledger (chunk-ledger.ts, capture's ChunkSink), which logs `chunk_created` and counts it
 *    in session.json, then to the chunk monitor (levels, silence, disk) and the components.
 * 4. consumers: the transcriber (transcription/session-transcriber.ts, a SessionComponent) takes chunks, and
 *    ffmpeg's live output when it asks for it (capture's LiveAudioConsumer).
 * 5. stop (stop-decision.ts): a signal, the duration, the end of input or a fault; capture ends, the last chunk
 *    is logged, the components finish within their budget, and `session_stop` is written last with the final
 *    session.json.
 */
export interface RecordingSessionOptions {
  plan: RecordingPlan;
  resolved: ResolvedConfig;
  components: SessionComponent[];
  stderr: Pick<Writable, 'write'>;
  onEvent?: (event: RecordingEvent) => void;
  now?: () => Date;
}

export interface RecordingResult {
  sessionId: string;
  sessionDir: string;
  logPath: string;
  reason: StopReason;
  exitCode: number;
  chunks: number;
  /** Set when the session failed: what `main` prints. */
  error?: EchologError;
}

/**
 * One recording, start to stop: lock, session folder, log, ffmpeg, chunk events, components,
 * and a `session_stop` line that is always last. `stop()` may be called at any time, from a
 * signal handler or a test; `run()` resolves only after ffmpeg has exited and the last chunk is logged.
 */
export class RecordingSession {
  private stopRequest: StopRequest | undefined;
  private capture: CaptureSupervisor | undefined;
  private readonly stopRequested: Promise<void>;
  private signalStopRequested!: () => void;
  private readonly now: () => Date;
  /** Set once session.log is open: where stop requests are logged. */
  private sessionLogger: Logger | undefined;
  /** The first storage fault seen (a full disk, a deleted folder): it ends the session. */
  private storageFault: StorageFault | undefined;
  /** session_stop is being written: nothing may be logged after it. */
  private stopping = false;
  /** stdout/stderr that went away before session.log was open: logged once it is. */
  private readonly closedOutputs: Array<{ stream: string; code: string }> = [];
  /** When stop() was first called, on the monotonic clock. */
  private stopRequestedAt = 0;

  constructor(private readonly options: RecordingSessionOptions) {
    this.now = options.now ?? (() => new Date());
    this.stopRequested = new Promise((resolve) => (this.signalStopRequested = resolve));
  }

  /** Asks the session to stop; a second call escalates (a second Ctrl-C). */
  stop(request: StopRequest): void {
    if (this.stopRequest) {
      this.logStopRequest(request, true);
      this.capture?.ffmpeg?.escalate();
      return;
    }
    this.stopRequest = request;
    this.stopRequestedAt = performance.now();
    this.logStopRequest(request, false);
    this.options.onEvent?.({ type: 'stopping', reason: request.reason });
    this.signalStopRequested();
  }

  /** stdout or stderr went away (a closed pipe): said once in session.log; the recording goes on. */
  noteOutputClosed(stream: string, code: string): void {
    if (this.stopping) return;
    if (this.sessionLogger)
      this.sessionLogger.warning('output_closed', { stream, code, detail: 'no longer written to; recording continues' });
    else this.closedOutputs.push({ stream, code });
  }

  async run(): Promise<RecordingResult> {
    const { plan, resolved } = this.options;
    const config = resolved.config;
    await refuseLowDisk(plan.recordingsDir, config.recording.min_free_mb);
    await ensureRecordingsDir(plan.recordingsDir);
    const { stale, discarded } = await acquireActiveLock(plan.recordingsDir, plan.sessionId);
    let lockHeld = true;
    let orphans: Promise<void> | undefined;
    try {
      if (discarded) this.options.stderr.write(`echolog: ${discarded}\n`);
      if (stale)
        await recoverInterruptedSession({
          recordingsDir: plan.recordingsDir,
          sessionId: stale.session_id,
          config,
          stderr: this.options.stderr,
        });
      // Sessions left `recording` with no lock (removed by hand after their echolog died) are
      // recovered while this one records: reading every session.json must not delay the start.
      orphans = recoverOrphanedSessions(
        { recordingsDir: plan.recordingsDir, config, stderr: this.options.stderr },
        { session_id: plan.sessionId, pid: process.pid },
      ).catch(
        (error: Error) => void this.options.stderr.write(`echolog: could not recover the sessions left recording: ${error.message}\n`),
      );
      const prepared = await this.prepareComponents();
      let ballast: DiskBallast;
      try {
        await this.createSessionDir();
        ballast = await DiskBallast.reserve(plan.sessionDir);
      } catch (error) {
        // The session never starts: a component must still let go of what prepare loaded (an
        // engine subprocess or worker thread would keep echolog from exiting).
        for (const component of this.options.components) await component.finish().catch(() => undefined);
        throw error;
      }
      const result = await this.record(prepared, ballast);
      await this.awaitOrphans(orphans);
      await releaseActiveLock(plan.recordingsDir, plan.sessionId);
      lockHeld = false;
      return result;
    } finally {
      await this.awaitOrphans(orphans);
      if (lockHeld) await releaseActiveLock(plan.recordingsDir, plan.sessionId);
    }
  }

  /**
   * Other sessions' recovery runs beside this one. A signalled stop waits for it only to the end of
   * its budget: recovery is resumable, and the next status or record finishes it.
   */
  private async awaitOrphans(orphans: Promise<void> | undefined): Promise<void> {
    if (!orphans || !this.stopRequest?.signal) return orphans;
    const leftMs = Math.max(0, SIGNALLED_STOP_BUDGET_MS - (performance.now() - this.stopRequestedAt));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([orphans, new Promise<void>((resolve) => (timer = setTimeout(resolve, leftMs)))]);
    clearTimeout(timer);
  }

  private async prepareComponents(): Promise<Array<Awaited<ReturnType<SessionComponent['prepare']>>>> {
    const prepared = [];
    for (const component of this.options.components) prepared.push(await component.prepare());
    return prepared;
  }

  private async createSessionDir(): Promise<void> {
    try {
      await fs.mkdir(this.options.plan.sessionDir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new UsageError(
          `--session-id ${this.options.plan.sessionId}: a session with this id already exists in ${this.options.plan.recordingsDir}`,
        );
      }
      throw error;
    }
  }

  /** A write failed for want of space, or the folder went away: stop now rather than fail later. */
  private noteStorageFault(fault: StorageFault): void {
    if (this.storageFault || this.stopping) return;
    this.storageFault = fault;
    this.sessionLogger?.error('storage_fault', { kind: fault.kind, code: fault.code, message: fault.message });
    this.stop({ reason: fault.kind === 'disk_full' ? 'disk_full' : 'error', message: fault.message });
  }

  private async record(prepared: Array<Awaited<ReturnType<SessionComponent['prepare']>>>, ballast: DiskBallast): Promise<RecordingResult> {
    const { plan, resolved, components } = this.options;
    const config = resolved.config;
    // One rule for a session's files: private (0600 in the 0700 folder). ffmpeg inherits the mask,
    // so its chunk WAVs and segment lists are 0600 too, not 0644 under the usual umask 022.
    process.umask(process.umask() | 0o077);
    const sessionStart = this.now();
    const log = SessionLog.open({
      dir: plan.sessionDir,
      level: config.logging.level,
      rotation: config.logging,
      stderr: this.options.stderr,
      now: this.now,
      // ffmpeg's stderr echoes the device name too ("Input #0, pulse, from '…'"): scrub every line.
      redact: config.logging.redact_device ? { text: plan.input.input, replacement: redactDevice(plan.input.input) } : undefined,
    });
    const sessionLogger = log.logger('echolog.session');
    const device = config.logging.redact_device ? redactDevice(plan.input.input) : plan.input.input;
    const manifest = new ManifestStore(
      plan.sessionDir,
      {
        session_id: plan.sessionId,
        status: 'recording',
        pid: process.pid,
        pid_start_ticks: readStartTicks(process.pid) ?? null,
        ffmpeg_pid: null,
        ffmpeg_start_ticks: null,
        started_at: sessionStart.toISOString(),
        ended_at: null,
        stop_reason: null,
        error: null,
        log_path: log.path,
        log_level: config.logging.level,
        device,
        input_format: plan.input.format,
        sample_rate: config.recording.sample_rate,
        channels: config.recording.channels,
        segment_time: config.recording.segment_time,
        engine: null,
        model: null,
        language: config.transcription.language,
        resumed_from: plan.resumedFrom ?? null,
        stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0, bytes_on_disk: 0 },
      },
      (error) => {
        const fault = classifyStorageError(error);
        if (fault) this.noteStorageFault({ ...fault, message: `cannot write ${manifestPath(plan.sessionDir)}: ${fault.message}` });
      },
    );
    const notify = (event: RecordingEvent): void => this.options.onEvent?.(event);
    const recorderLogger = log.logger('echolog.recorder');
    const monitor = new ChunkMonitor({
      sessionDir: plan.sessionDir,
      logger: recorderLogger,
      manifest,
      silenceAlarmSeconds: config.recording.silence_alarm,
      minFreeMb: config.recording.min_free_mb,
      warn: (message) => notify({ type: 'warning', message }),
      onDiskLow: (message) => {
        recorderLogger.warning('disk_low', { message });
        // Already stopping (Ctrl-C): a second stop would escalate the stop ladder.
        if (!this.stopRequest) this.stop({ reason: 'disk_low', message });
      },
    });
    const ledger = new ChunkLedger(
      plan.sessionDir,
      sessionStart,
      recorderLogger,
      manifest,
      (chunk) => {
        notify({ type: 'chunk', chunk });
        monitor.onChunk(chunk);
        for (const component of components) component.onChunk(chunk);
      },
      plan.realTime,
    );
    const capture = new CaptureSupervisor({
      plan,
      log,
      manifest,
      chunks: ledger,
      policy: { maxRestarts: config.recording.max_restarts, reconnectTimeoutMs: config.recording.reconnect_timeout * 1000 },
      segmentTime: config.recording.segment_time,
      stopTimeoutSeconds: config.ffmpeg.stop_timeout,
      redactedDevice: config.logging.redact_device ? device : undefined,
      isStopRequested: () => this.stopRequest !== undefined,
      stopRequested: this.stopRequested,
      onStderrLine: (line) => {
        if (isDiskFullLine(line))
          this.noteStorageFault({
            kind: 'disk_full',
            code: 'ENOSPC',
            message: `ffmpeg cannot write to ${plan.sessionDir}: ${line.trim()}`,
          });
      },
      onLevel: (db, seconds) => monitor.onLevel(db, seconds),
      liveAudio: () => this.liveAudioConsumer(),
    });
    this.capture = capture;
    let reason: StopReason = 'error';
    let failure: EchologError | undefined;
    let bug: Error | undefined;
    let stopFields: LogFields = {};
    try {
      sessionLogger.info('session_start', {
        session_id: plan.sessionId,
        start_time: sessionStart.toISOString(),
        device,
        input_format: plan.input.format || 'file',
        sample_rate: config.recording.sample_rate,
        channels: config.recording.channels,
        codec: 'pcm_s16le',
        format: 'wav',
        segment_time: config.recording.segment_time,
        duration: plan.durationSeconds,
        resumed_from: plan.resumedFrom,
        output_dir: plan.sessionDir,
        log_level: config.logging.level,
        log_rotation: config.logging.rotation,
        overrides: formatOverrides(resolved, config.logging.redact_device),
        config_file: resolved.filePath,
        ffmpeg: plan.ffmpeg.path,
        ffmpeg_source: plan.ffmpeg.source,
        echolog_version: VERSION,
        pid: process.pid,
        ...Object.assign({}, ...prepared.map((p) => p.startFields)),
      });
      // Rotation may take session_start out of session.log: session.json keeps its text.
      await manifest.update((m) => (m.session_start_line = log.lifecycleLine('session_start')));
      this.sessionLogger = sessionLogger;
      if (this.stopRequest) this.logStopRequest(this.stopRequest, false); // asked before the log was open
      for (const { stream, code } of this.closedOutputs.splice(0)) this.noteOutputClosed(stream, code);
      // The user hears where the log is first; components may say things on attach.
      const startFields: LogFields = Object.assign({}, ...prepared.map((p) => p.startFields));
      notify({
        type: 'started',
        sessionId: plan.sessionId,
        logPath: log.path,
        level: config.logging.level,
        sessionDir: plan.sessionDir,
        pid: process.pid,
        resumedFrom: plan.resumedFrom,
        startFields,
      });
      prepared.forEach((p, i) => {
        for (const line of p.deferred) log.write(line.level, `echolog.${components[i]!.name}`, line.message, line.fields);
      });
      // The components' stats go into session.json through the session's one writer.
      const context = {
        sessionId: plan.sessionId,
        sessionDir: plan.sessionDir,
        sessionStart,
        log,
        notify,
        updateManifest: (change: Parameters<ManifestStore['update']>[0]) => manifest.update(change),
        manifest: () => manifest.value,
      };
      for (const component of components) component.attach(context);
      // Capture starts now; what components load (an engine) loads beside it. A component that
      // cannot start (transcription.required) stops the session.
      let componentFailure: Error | undefined;
      const starting = components.map((component) =>
        component.start?.().catch((error: Error) => {
          componentFailure ??= error;
          if (!this.stopRequest) this.stop({ reason: 'error', message: error.message });
        }),
      );

      await monitor.checkDisk();
      const outcome = await capture.run();
      await ledger.settled();
      await monitor.settled();
      await Promise.all(starting);

      reason = decideStopReason(this.stopRequest, outcome.kind);
      ({ stopFields, failure } = this.describeEnd(reason, outcome));
      if (componentFailure instanceof EchologError) failure ??= componentFailure;
      else if (componentFailure) throw componentFailure;
    } catch (error) {
      reason = 'error';
      stopFields = { message: (error as Error).message };
      if (error instanceof EchologError) failure = error;
      else bug = error as Error;
      // Whatever failed: ffmpeg is stopped and the chunks it finished are logged before session_stop.
      await capture.ffmpeg?.stop({ politeInput: 'q', stepTimeoutMs: config.ffmpeg.stop_timeout * 1000 });
      await ledger.settled().catch(() => undefined);
    } finally {
      const budgetMs = this.stopRequest?.signal
        ? Math.max(0, SIGNALLED_STOP_BUDGET_MS - (performance.now() - this.stopRequestedAt))
        : undefined;
      for (const component of components)
        Object.assign(stopFields, await component.finish(budgetMs).catch((e: Error) => ({ finish_error: e.message })));
    }
    // A folder deleted under a running session: its log writes went to an unlinked file, so nothing
    // written there can be seen; the end of the story is told on stderr.
    const folderGone = !(await fs.stat(plan.sessionDir).then(
      (s) => s.isDirectory(),
      () => false,
    ));
    if (folderGone) {
      reason = 'error';
      stopFields = { ...stopFields, message: `the session folder ${plan.sessionDir} was deleted while recording` };
      failure = new StorageError(`recording stopped: the session folder ${plan.sessionDir} was deleted while recording`);
    }
    const exitCode = failure ? failure.exitCode : exitCodeFor(reason, this.stopRequest);
    await ballast.release();
    await this.writeStop(
      log,
      sessionLogger,
      manifest,
      reason,
      { ...stopFields, exit_code: exitCode },
      (failure ?? bug)?.message,
      folderGone,
    );
    // An unexpected error: session_stop is logged and flushed above; `main` reports the bug.
    if (bug) throw bug;
    return {
      sessionId: plan.sessionId,
      sessionDir: plan.sessionDir,
      logPath: log.path,
      reason,
      exitCode,
      chunks: manifest.value.stats.chunks,
      error: failure,
    };
  }

  /** session_stop's fields and the error `main` reports, for how the session ended. */
  private describeEnd(reason: StopReason, outcome: CaptureOutcome): { stopFields: LogFields; failure: EchologError | undefined } {
    const message = this.stopRequest?.message;
    if (this.storageFault) return { stopFields: { message }, failure: new StorageError(`recording stopped: ${this.storageFault.message}`) };
    switch (reason) {
      case 'error':
      case 'disk_full':
        return { stopFields: { message }, failure: undefined };
      case 'disk_low':
        return { stopFields: { message }, failure: new DiskLowError(`recording stopped before the disk filled: ${message}`) };
      case 'device_lost': {
        const lost = outcome.kind === 'device_lost' ? outcome.lostForSeconds : 0;
        const { format, input } = this.options.plan.input;
        const what = `the capture device ${format} ${input} went away and did not come back within ${lost} s (recording.reconnect_timeout)`;
        return { stopFields: { message: what }, failure: new DeviceLostError(`recording stopped: ${what}`) };
      }
      case 'ffmpeg_exit': {
        if (outcome.kind !== 'ffmpeg_exit') return { stopFields: {}, failure: undefined };
        const { exit, errorLines, noAudio, restarts, hint } = outcome;
        return {
          stopFields: {
            code: exit.code,
            signal: exit.signal ?? undefined,
            restarts,
            no_audio: noAudio || undefined,
            stderr_tail: errorLines.slice(-5).join(' | ') || undefined,
            hint,
          },
          failure: new FfmpegExitError(exit.code, exit.signal, errorLines, restarts, noAudio, hint),
        };
      }
      case 'input_damaged': {
        if (outcome.kind !== 'input_damaged') return { stopFields: {}, failure: undefined };
        const expected = outcome.expectedSeconds === undefined ? '' : ` of ${outcome.expectedSeconds.toFixed(1)} s`;
        const what = `the input ended early, at ${outcome.reachedSeconds.toFixed(1)} s${expected}, with errors (a damaged file?)`;
        // A damaged file repeats its complaint for every frame: each different line once.
        const errors = [...new Set(outcome.errorLines)].slice(-5);
        return {
          stopFields: { message: what, stderr_tail: errors.join(' | ') || undefined },
          failure: new InputDamagedError(`recording stopped: ${what}:\n  ${errors.join('\n  ')}`),
        };
      }
      default:
        return { stopFields: {}, failure: undefined };
    }
  }

  /**
   * The one component that takes the audio as it is captured (ffmpeg has one stdout). Only for a
   * capture at real time: a file read at full speed would outrun any decoder, and its chunks come
   * quicker than live audio would anyway.
   */
  private liveAudioConsumer(): LiveAudioConsumer | undefined {
    if (!this.options.plan.realTime) return undefined;
    for (const component of this.options.components) {
      const consumer = component.liveAudio?.();
      if (consumer) return consumer;
    }
    return undefined;
  }

  private logStopRequest(request: StopRequest, escalate: boolean): void {
    this.sessionLogger?.info('stop_requested', {
      signal: request.signal,
      reason: request.reason,
      message: request.message,
      escalate: escalate || undefined,
    });
  }

  /**
   * session_stop, then the final session.json. Never throws: this is every exit path's last step.
   * The ballast was released just before, so a full disk has room for both; a log that failed for
   * want of space takes lines again. What cannot be written is said on stderr instead.
   */
  private async writeStop(
    log: SessionLog,
    logger: Logger,
    manifest: ManifestStore,
    reason: StopReason,
    fields: LogFields,
    error: string | undefined,
    folderGone: boolean,
  ): Promise<void> {
    this.stopping = true;
    const endedAt = this.now();
    const stats = manifest.value.stats;
    const cpu = process.cpuUsage();
    if (folderGone) {
      // Closed first: session_stop then goes to stderr, the one place left that anyone can read.
      await log.close();
      this.options.stderr.write(
        `echolog: the session folder ${this.options.plan.sessionDir} was deleted while recording; its session_stop follows\n`,
      );
    } else {
      log.resumeAfterSpaceFreed();
    }
    logger[stopLevelFor(reason)]('session_stop', {
      reason,
      signal: this.stopRequest?.signal,
      chunks: stats.chunks,
      incomplete: stats.incomplete_chunks || undefined,
      audio_duration_s: stats.audio_duration_seconds,
      elapsed_s: (endedAt.getTime() - new Date(manifest.value.started_at).getTime()) / 1000,
      // This process only (not ffmpeg, not an engine subprocess): what `npm run bench` checks against the CPU budget.
      cpu_user_s: cpu.user / 1e6,
      cpu_system_s: cpu.system / 1e6,
      ...fields,
    });
    await log.close();
    if (folderGone) return;
    const bytes = await folderBytes(this.options.plan.sessionDir).catch(() => undefined);
    await manifest
      .update((m) => {
        if (bytes !== undefined) m.stats.bytes_on_disk = bytes;
        m.status = finalStatusFor(reason);
        m.ended_at = endedAt.toISOString();
        m.stop_reason = reason;
        m.error = error ?? null;
      })
      .catch((writeError: Error) => {
        // The next status or record finishes it from session_stop (see recover-session.ts).
        this.options.stderr.write(
          `echolog: cannot write the final ${manifestPath(this.options.plan.sessionDir)} (${writeError.message}); ` +
            'session.log ends with session_stop, and the next echolog status completes session.json from it\n',
        );
      });
  }
}

/**
 * The values that differ from defaults, for session_start, as one JSON object: a value may hold
 * `,` or `=` (a lavfi graph, a path), and the field must parse back exactly.
 */
export function formatOverrides(resolved: ResolvedConfig, redactDeviceName: boolean): string {
  const overrides = Object.entries(overridesOf(resolved)).map(([key, value]) => [
    key,
    redactDeviceName && key === 'recording.input' ? redactDevice(String(value)) : value,
  ]);
  return JSON.stringify(Object.fromEntries(overrides));
}

/** The free-space guard before anything is created: below recording.min_free_mb, record refuses. */
async function refuseLowDisk(recordingsDir: string, minFreeMb: number): Promise<void> {
  if (minFreeMb <= 0) return;
  // A dir that cannot be asked, or written at all (read-only, another's), is refused next, with
  // that reason (exit 2), by ensureRecordingsDir and the lock.
  const free = await freeBytes(recordingsDir).catch(() => undefined);
  if (free === undefined || !(await canWriteIn(recordingsDir))) return;
  if (diskVerdict(free, minFreeMb) === 'too_low') {
    throw new DiskLowError(
      `not enough free space to record in ${recordingsDir}: ${formatMib(free)} free, recording.min_free_mb is ${minFreeMb} MiB ` +
        '(free some space, or lower recording.min_free_mb; 0 turns the guard off)',
    );
  }
}

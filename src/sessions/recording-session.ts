import fs from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { overridesOf } from '../config/resolve-config.js';
import { EchologError, FfmpegExitError, StorageError, UsageError } from '../errors.js';
import type { LogFields } from '../logging/line-format.js';
import { redactDevice } from '../logging/redact.js';
import { SessionLog, type Logger } from '../logging/session-log.js';
import { ManagedProcess, startOrphanWatchdog, type ProcessExit } from '../process/managed-process.js';
import { buildLiveAudioArgs, isDeviceInput, SEGMENT_LIST_NAME } from '../recorder/ffmpeg-args.js';
import { formatCommandLine } from '../recorder/command-line.js';
import { failureTail } from '../recorder/ffmpeg-stderr.js';
import { FfmpegStderrLog } from '../recorder/ffmpeg-stderr-log.js';
import { SegmentListWatcher } from '../recorder/segment-list-watcher.js';
import { VERSION } from '../version.js';
import { readStartTicks } from '../files/process-identity.js';
import { acquireActiveLock, releaseActiveLock } from './active-lock.js';
import { ChunkLedger } from './chunk-ledger.js';
import type { RecordingPlan } from './recording-plan.js';
import { ensureRecordingsDir } from './recordings-dir.js';
import { recoverInterruptedSession } from './recover-session.js';
import type { LiveAudioConsumer, RecordingEvent, SessionComponent } from './session-component.js';
import { ManifestStore, manifestPath } from './session-manifest.js';
import { DiskBallast } from './disk-ballast.js';
import { decideStopReason, exitCodeFor, finalStatusFor, type StopReason, type StopRequest } from './stop-reason.js';
import { classifyStorageError, isDiskFullLine, type StorageFault } from './storage-fault.js';

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

const STDERR_TAIL_LINES = 50;

/**
 * One recording, start to stop: lock, session folder, log, ffmpeg, chunk events, components,
 * and a `session_stop` line that is always last. `stop()` may be called at any time, from a
 * signal handler or a test; `run()` resolves only after ffmpeg has exited and the last chunk is logged.
 */
export class RecordingSession {
  private stopRequest: StopRequest | undefined;
  private ffmpeg: ManagedProcess | undefined;
  private readonly stopRequested: Promise<void>;
  private signalStopRequested!: () => void;
  private readonly stderrTail: string[] = [];
  private readonly now: () => Date;
  /** Set once session.log is open: where stop requests are logged. */
  private sessionLogger: Logger | undefined;
  /** The first storage fault seen (a full disk, a deleted folder): it ends the session. */
  private storageFault: StorageFault | undefined;
  /** session_stop is being written: nothing may be logged after it. */
  private stopping = false;

  constructor(private readonly options: RecordingSessionOptions) {
    this.now = options.now ?? (() => new Date());
    this.stopRequested = new Promise((resolve) => (this.signalStopRequested = resolve));
  }

  /** Asks the session to stop; a second call escalates (a second Ctrl-C). */
  stop(request: StopRequest): void {
    if (this.stopRequest) {
      this.logStopRequest(request, true);
      this.ffmpeg?.escalate();
      return;
    }
    this.stopRequest = request;
    this.logStopRequest(request, false);
    this.options.onEvent?.({ type: 'stopping', reason: request.reason });
    this.signalStopRequested();
  }

  async run(): Promise<RecordingResult> {
    const { plan, resolved } = this.options;
    const config = resolved.config;
    await ensureRecordingsDir(plan.recordingsDir);
    const { stale, discarded } = await acquireActiveLock(plan.recordingsDir, plan.sessionId);
    let lockHeld = true;
    try {
      if (discarded) this.options.stderr.write(`echolog: ${discarded}\n`);
      if (stale) await recoverInterruptedSession({ recordingsDir: plan.recordingsDir, sessionId: stale.session_id, config, stderr: this.options.stderr });
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
      await releaseActiveLock(plan.recordingsDir, plan.sessionId);
      lockHeld = false;
      return result;
    } finally {
      if (lockHeld) await releaseActiveLock(plan.recordingsDir, plan.sessionId);
    }
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
        throw new UsageError(`--session-id ${this.options.plan.sessionId}: a session with this id already exists in ${this.options.plan.recordingsDir}`);
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
    const manifest = new ManifestStore(plan.sessionDir, {
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
      stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    }, (error) => {
      const fault = classifyStorageError(error);
      if (fault) this.noteStorageFault({ ...fault, message: `cannot write ${manifestPath(plan.sessionDir)}: ${fault.message}` });
    });
    const notify = (event: RecordingEvent): void => this.options.onEvent?.(event);
    const recorderLogger = log.logger('echolog.recorder');
    const ledger = new ChunkLedger(plan.sessionDir, sessionStart, recorderLogger, manifest, (chunk) => {
      notify({ type: 'chunk', chunk });
      for (const component of components) component.onChunk(chunk);
    });
    const watcher = new SegmentListWatcher(plan.sessionDir, SEGMENT_LIST_NAME, (row) => ledger.add(row), (line) =>
      recorderLogger.warning('segment_list_unparsed', { line }),
    );
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
      // The user hears where the log is first; components may say things on attach.
      notify({ type: 'started', sessionId: plan.sessionId, logPath: log.path, level: config.logging.level, sessionDir: plan.sessionDir, pid: process.pid });
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

      const exit = await this.runFfmpeg(log, watcher, config.logging.redact_device ? device : undefined, config.ffmpeg.stop_timeout, manifest);
      await watcher.drain();
      await ledger.settled();

      reason = decideStopReason(this.stopRequest, exit, plan.durationSeconds !== undefined);
      if (reason === 'error' || reason === 'disk_full') stopFields = { message: this.stopRequest?.message };
      if (this.storageFault) failure = new StorageError(`recording stopped: ${this.storageFault.message}`);
      if (reason === 'ffmpeg_exit') {
        failure = new FfmpegExitError(exit.code, exit.signal, failureTail(this.stderrTail));
        stopFields = { code: exit.code, signal: exit.signal ?? undefined, stderr_tail: failureTail(this.stderrTail, 5).join(' | ') };
      }
    } catch (error) {
      reason = 'error';
      stopFields = { message: (error as Error).message };
      if (error instanceof EchologError) failure = error;
      else bug = error as Error;
      // Whatever failed: ffmpeg is stopped and the chunks it finished are logged before session_stop.
      await this.ffmpeg?.stop({ politeInput: 'q', stepTimeoutMs: config.ffmpeg.stop_timeout * 1000 });
      await watcher
        .drain()
        .then(() => ledger.settled())
        .catch(() => undefined);
    } finally {
      for (const component of components) Object.assign(stopFields, await component.finish().catch((e: Error) => ({ finish_error: e.message })));
    }
    // A folder deleted under a running session: its log writes went to an unlinked file, so nothing
    // written there can be seen; the end of the story is told on stderr.
    const folderGone = !(await fs.stat(plan.sessionDir).then((s) => s.isDirectory(), () => false));
    if (folderGone) {
      reason = 'error';
      stopFields = { ...stopFields, message: `the session folder ${plan.sessionDir} was deleted while recording` };
      failure = new StorageError(`recording stopped: the session folder ${plan.sessionDir} was deleted while recording`);
    }
    const exitCode = failure ? failure.exitCode : exitCodeFor(reason, this.stopRequest);
    await ballast.release();
    await this.writeStop(log, sessionLogger, manifest, reason, { ...stopFields, exit_code: exitCode }, (failure ?? bug)?.message, folderGone);
    // An unexpected error: session_stop is logged and flushed above; `main` reports the bug.
    if (bug) throw bug;
    return { sessionId: plan.sessionId, sessionDir: plan.sessionDir, logPath: log.path, reason, exitCode, chunks: manifest.value.stats.chunks, error: failure };
  }

  private async runFfmpeg(
    log: SessionLog,
    watcher: SegmentListWatcher,
    redactedDevice: string | undefined,
    stopTimeoutSeconds: number,
    manifest: ManifestStore,
  ): Promise<ProcessExit> {
    const { plan } = this.options;
    const logger = log.logger('echolog.ffmpeg');
    const live = this.liveAudioConsumer();
    const args = live ? [...plan.args, ...buildLiveAudioArgs({ sampleRate: live.sampleRate, durationSeconds: plan.durationSeconds })] : plan.args;
    const shownArgs = redactedDevice ? args.map((arg) => (arg === plan.input.input ? redactedDevice : arg)) : args;
    const command = formatCommandLine(plan.ffmpeg.path, shownArgs);
    logger.info('ffmpeg_command', { command });
    if (this.stopRequest) {
      // Ctrl-C while the engine was loading: record nothing rather than start ffmpeg to stop it.
      logger.info('ffmpeg_not_started', { reason: `stop requested (${this.stopRequest.reason}) before capture began` });
      return { code: null, signal: null };
    }
    watcher.start();
    const ffmpeg = await ManagedProcess.start(plan.ffmpeg.path, args, {
      cwd: plan.sessionDir,
      detached: true,
      stdin: true,
      onStep: (step) => logger.info('ffmpeg_stop_step', { step }),
    });
    this.ffmpeg = ffmpeg;
    if (live) attachLiveAudio(ffmpeg, live);
    const releaseWatchdog = startOrphanWatchdog(ffmpeg.pid, stopTimeoutSeconds * 1000);
    const stderrLog = new FfmpegStderrLog(logger, (level) => log.isEnabled(level));
    try {
      // Its start time with its pid: recovery signals this pid only while both still match.
      const startTicks = readStartTicks(ffmpeg.pid) ?? null;
      await manifest.update((m) => {
        m.ffmpeg_pid = ffmpeg.pid;
        m.ffmpeg_start_ticks = startTicks;
        m.ffmpeg_command = command;
      });
      logger.info('ffmpeg_started', { pid: ffmpeg.pid });
      ffmpeg.onLines('stderr', (line) => {
        // The tail for the failure message keeps the real lines, whatever the flood guard lets into the log.
        if (this.stderrTail.push(line) > STDERR_TAIL_LINES) this.stderrTail.shift();
        stderrLog.line(line);
        if (isDiskFullLine(line)) this.noteStorageFault({ kind: 'disk_full', code: 'ENOSPC', message: `ffmpeg cannot write to ${plan.sessionDir}: ${line.trim()}` });
      });
      const stopOnRequest = this.stopRequested.then(() => ffmpeg.stop({ politeInput: 'q', stepTimeoutMs: stopTimeoutSeconds * 1000 }));
      const exit = await Promise.race([ffmpeg.exited, stopOnRequest]);
      stderrLog.close();
      logger.info('ffmpeg_exited', { code: exit.code, signal: exit.signal ?? undefined });
      return exit;
    } catch (error) {
      // Released only once ffmpeg is gone: a crash of echolog before that would orphan it.
      await ffmpeg.stop({ politeInput: 'q', stepTimeoutMs: stopTimeoutSeconds * 1000 });
      throw error;
    } finally {
      stderrLog.close();
      releaseWatchdog();
    }
  }

  /**
   * The one component that takes the audio as it is captured (ffmpeg has one stdout). Only for a
   * capture at real time: a file read at full speed would outrun any decoder, and its chunks come
   * quicker than live audio would anyway.
   */
  private liveAudioConsumer(): LiveAudioConsumer | undefined {
    const { plan, resolved } = this.options;
    if (!resolved.config.recording.realtime && !isDeviceInput(plan.input)) return undefined;
    for (const component of this.options.components) {
      const consumer = component.liveAudio?.();
      if (consumer) return consumer;
    }
    return undefined;
  }

  private logStopRequest(request: StopRequest, escalate: boolean): void {
    this.sessionLogger?.info('stop_requested', { signal: request.signal, reason: request.reason, message: request.message, escalate: escalate || undefined });
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
      this.options.stderr.write(`echolog: the session folder ${this.options.plan.sessionDir} was deleted while recording; its session_stop follows\n`);
    } else {
      log.resumeAfterSpaceFreed();
    }
    logger.info('session_stop', {
      reason,
      signal: this.stopRequest?.signal,
      chunks: stats.chunks,
      audio_duration_s: stats.audio_duration_seconds,
      elapsed_s: (endedAt.getTime() - new Date(manifest.value.started_at).getTime()) / 1000,
      // This process only (not ffmpeg, not an engine subprocess): what `npm run bench` checks against the CPU budget.
      cpu_user_s: cpu.user / 1e6,
      cpu_system_s: cpu.system / 1e6,
      ...fields,
    });
    await log.close();
    if (folderGone) return;
    await manifest
      .update((m) => {
        m.status = finalStatusFor(reason);
        m.ended_at = endedAt.toISOString();
        m.stop_reason = reason;
        m.error = error ?? null;
      })
      .catch((writeError: Error) => {
        // The next status or record finishes it from session_stop (see recover-session.ts).
        this.options.stderr.write(`echolog: cannot write the final ${manifestPath(this.options.plan.sessionDir)} (${writeError.message}); session.log ends with session_stop, and the next echolog status completes session.json from it\n`);
      });
  }
}

/**
 * Per ffmpeg run: its stdout (the live-audio output) goes to the consumer, which reads it always,
 * so a slow or stopped engine never blocks ffmpeg's writes.
 */
function attachLiveAudio(ffmpeg: ManagedProcess, consumer: LiveAudioConsumer): void {
  if (ffmpeg.child.stdout) consumer.attach(ffmpeg.child.stdout);
}

/**
 * The values that differ from defaults, for session_start, as one JSON object: a value may hold
 * `,` or `=` (a lavfi graph, a path), and the field must parse back exactly.
 */
export function formatOverrides(resolved: ResolvedConfig, redactDeviceName: boolean): string {
  const overrides = Object.entries(overridesOf(resolved)).map(([key, value]) => [key, redactDeviceName && key === 'recording.input' ? redactDevice(String(value)) : value]);
  return JSON.stringify(Object.fromEntries(overrides));
}

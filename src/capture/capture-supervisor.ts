import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, SessionLog } from '../logging/session-log.js';
import { ManagedProcess, startOrphanWatchdog, STOP_DEADLINE_MS, type ProcessExit } from '../process/managed-process.js';
import { formatCommandLine } from '../recorder/command-line.js';
import { buildLiveAudioArgs, isDeviceInput, segmentListName } from '../recorder/ffmpeg-args.js';
import { LevelWindowReader } from '../recorder/ffmpeg-level-report.js';
import { FfmpegProgress, type ProgressReport } from '../recorder/ffmpeg-progress.js';
import { classifyStderrLine, FFMPEG_FAILURE_LINES } from '../recorder/ffmpeg-stderr.js';
import { failureTail } from '../process/describe-exit.js';
import { FfmpegStderrLog } from '../recorder/ffmpeg-stderr-log.js';
import { SegmentListWatcher } from '../recorder/segment-list-watcher.js';
import { ListedChunks, type ListedFiles } from '../recorder/listed-chunks.js';
import { readStartTicks } from '../process/process-identity.js';
import { runArgs, type RecordingPlan } from './recording-plan.js';
import type { ChunkSink, LiveAudioConsumer } from './capture-outputs.js';
import { captureStatus, type ManifestStore } from '../store/session-manifest.js';
import { decideAfterRun, INITIAL_SUPERVISION, type RestartPolicy, type SupervisionState } from './restart-policy.js';
import { classifyRunEnd, type RunEnd } from './run-end.js';
import { permanentStartErrors, startFailureHint } from './start-failure.js';
import { stallAfterMs, stallLevel } from './stall.js';
import { nextChunkNumber, repairUnlistedChunks } from './torn-chunk.js';

/** How capture ended, for session_stop. */
export type CaptureOutcome =
  | { kind: 'stopped' }
  | { kind: 'duration_reached' }
  | { kind: 'end_of_input' }
  /** Restarts used up, or a start no retry can fix (then with a hint): the last run's exit and its error lines. */
  | { kind: 'ffmpeg_exit'; exit: ProcessExit; errorLines: string[]; noAudio: boolean; restarts: number; hint?: string }
  /** The input ended early with errors (a damaged file): where it ended, and ffmpeg's error lines. */
  | { kind: 'input_damaged'; reachedSeconds: number; expectedSeconds: number | undefined; errorLines: string[] }
  | { kind: 'device_lost'; lostForSeconds: number }
  /** The session folder went away: nothing to restart into. */
  | { kind: 'session_dir_gone' };

export interface CaptureSupervisorOptions {
  plan: RecordingPlan;
  log: SessionLog;
  manifest: ManifestStore;
  /** Where each finished chunk goes (the recording's chunk ledger). */
  chunks: ChunkSink;
  policy: RestartPolicy;
  segmentTime: number;
  stopTimeoutSeconds: number;
  /** The device name as the log shows it (redacted), if it must not appear in the command. */
  redactedDevice: string | undefined;
  /** True once the session was asked to stop; `stopRequested` resolves then. */
  isStopRequested: () => boolean;
  stopRequested: Promise<void>;
  /** Each stderr line of every run, after the supervisor's own use (disk-full detection). */
  onStderrLine: (line: string) => void;
  /** The RMS level (dBFS) of each window of audio as ffmpeg measures it, and the window's length. */
  onLevel?: (db: number, seconds: number) => void;
  /**
   * Who takes the audio as it is captured (the live transcript), asked once when capture begins
   * (components are attached by then): each run gets a raw-PCM output on stdout for it.
   */
  liveAudio?: () => LiveAudioConsumer | undefined;
}

const STDERR_TAIL_LINES = 50;
const STALL_CHECK_MS = 1000;

/**
 * Runs ffmpeg for a session and keeps it running: an unexpected end (crash, kill, lost device,
 * stall, a run without audio) restarts capture into the same session, chunk numbers continuing,
 * as the restart policy allows. Each run has its own segment list (ffmpeg truncates the list it
 * opens) and its own wall-clock anchor in the chunk sink. `run()` resolves once capture is over.
 */
export class CaptureSupervisor {
  private current: ManagedProcess | undefined;
  private live: LiveAudioConsumer | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: CaptureSupervisorOptions) {
    this.logger = options.log.logger('echolog.ffmpeg');
  }

  /** The running ffmpeg, for a second Ctrl-C to escalate. */
  get ffmpeg(): ManagedProcess | undefined {
    return this.current;
  }

  async run(): Promise<CaptureOutcome> {
    const { plan, manifest, chunks, policy } = this.options;
    this.live = this.options.liveAudio?.();
    let state: SupervisionState = INITIAL_SUPERVISION;
    let runNumber = 1;
    let startNumber = 1;
    let restart: { reason: RunEnd; audioEnd: Date } | undefined;
    // One pass per ffmpeg run: bounded by the restart policy (max_restarts, reconnect_timeout) and by a stop request.
    for (;;) {
      // Asked to stop while waiting to restart: the session ends with what it has.
      if (runNumber > 1 && this.options.isStopRequested()) return { kind: 'stopped' };
      const wanted =
        plan.durationSeconds === undefined ? undefined : Math.max(0, plan.durationSeconds - manifest.value.stats.audio_duration_seconds);
      const live = this.live;
      const args = [
        ...runArgs(plan, { run: runNumber, startNumber, durationSeconds: wanted }),
        ...(live ? buildLiveAudioArgs({ sampleRate: live.sampleRate, durationSeconds: wanted }) : []),
      ];
      const command = formatCommandLine(
        plan.ffmpeg.path,
        this.options.redactedDevice ? args.map((arg) => (arg === plan.input.input ? this.options.redactedDevice! : arg)) : args,
      );
      this.logger.info('ffmpeg_command', { command, run: runNumber > 1 ? runNumber : undefined });
      if (this.options.isStopRequested()) {
        // Ctrl-C before capture began (or during a restart's wait): record nothing more.
        this.logger.info('ffmpeg_not_started', { reason: 'stop requested before capture began' });
        return { kind: 'stopped' };
      }
      const chunksBefore = manifest.value.stats.chunks;
      const audioBefore = manifest.value.stats.audio_duration_seconds;
      const result = await this.runOnce(runNumber, args, command, (anchor) => {
        if (restart) {
          const gapMs = Math.max(0, anchor.getTime() - restart.audioEnd.getTime());
          this.logger.warning('capture_restart', {
            attempt: state.attempts,
            reason: restart.reason,
            gap_ms: gapMs,
            run: runNumber,
            first_chunk: startNumber,
          });
          void manifest.update((m) => (m.capture = { ...captureStatus(m), restarts: state.restarts }));
        }
      });
      await this.fixTornChunks(runNumber, startNumber, result.listed);
      await chunks.settled();
      const runChunks = manifest.value.stats.chunks - chunksBefore;
      const end = classifyRunEnd({
        stopRequested: this.options.isStopRequested(),
        stalled: result.stalled,
        exit: result.exit,
        liveInput: isDeviceInput(plan.input),
        chunks: runChunks,
        wantedSeconds: wanted,
        capturedSeconds: manifest.value.stats.audio_duration_seconds - audioBefore,
        progress: result.progress,
        errorLines: result.errorLines,
        permanentFailure: permanentStartErrors(result.stderrTail).length > 0,
        sessionHadAudio: state.hadAudio,
      });
      const decision = decideAfterRun(state, end, runChunks, Date.now(), policy);
      if (decision.action === 'finish') {
        if (end === 'stopped') return { kind: 'stopped' };
        return { kind: end === 'duration_reached' ? 'duration_reached' : 'end_of_input' };
      }
      this.logger.warning('ffmpeg_run_ended', {
        run: runNumber,
        outcome: end,
        code: result.exit.code,
        signal: result.exit.signal ?? undefined,
        chunks: runChunks,
        errors: failureTail(result.stderrTail, { ...FFMPEG_FAILURE_LINES, maxLines: 3 }).join(' | ') || undefined,
      });
      if (decision.action === 'give_up') {
        if (decision.reason === 'device_lost')
          return { kind: 'device_lost', lostForSeconds: Math.round((Date.now() - (decision.state.deviceLostAtMs ?? Date.now())) / 1000) };
        if (decision.reason === 'input_damaged') {
          const expectedSeconds = Math.min(result.progress.inputSeconds ?? Infinity, wanted ?? Infinity);
          return {
            kind: 'input_damaged',
            reachedSeconds: result.progress.outSeconds ?? 0,
            expectedSeconds: Number.isFinite(expectedSeconds) ? expectedSeconds : undefined,
            errorLines: failureTail(result.stderrTail, FFMPEG_FAILURE_LINES),
          };
        }
        const hint = end === 'unrecoverable' ? startFailureHint(plan.input) : undefined;
        return {
          kind: 'ffmpeg_exit',
          exit: result.exit,
          errorLines: failureTail(result.stderrTail, FFMPEG_FAILURE_LINES),
          noAudio: end === 'no_audio',
          restarts: state.restarts,
          hint,
        };
      }
      state = decision.state;
      restart = { reason: end, audioEnd: chunks.audioEndsAt() };
      await Promise.race([sleep(decision.delayMs), this.options.stopRequested]);
      const next = await nextChunkNumber(plan.sessionDir).catch(() => undefined);
      if (next === undefined) return { kind: 'session_dir_gone' };
      runNumber++;
      startNumber = next;
    }
  }

  /** One ffmpeg run, start to exit: its segment list, stall watch, stderr, pid in session.json. */
  private async runOnce(runNumber: number, args: string[], command: string, onSpawned: (anchor: Date) => void): Promise<RunResult> {
    const { plan, manifest, chunks, stopTimeoutSeconds } = this.options;
    const listed = new ListedChunks();
    let lastProgress = Date.now();
    let stallWarned = false;
    const recorderLogger = this.options.log.logger('echolog.recorder');
    const watcher = new SegmentListWatcher(
      plan.sessionDir,
      segmentListName(runNumber),
      (row) => {
        listed.add(row.file);
        lastProgress = Date.now();
        if (stallWarned) {
          stallWarned = false;
          recorderLogger.info('capture_resumed', { file: row.file });
          void manifest.update((m) => (m.capture = { ...captureStatus(m), stalled_since: null }));
        }
        chunks.add(row);
      },
      (line) => recorderLogger.warning('segment_list_unparsed', { line }),
    );
    watcher.start();
    const stopOptions = { politeInput: 'q', stepTimeoutMs: stopTimeoutSeconds * 1000 };
    let ffmpeg: ManagedProcess;
    try {
      ffmpeg = await ManagedProcess.start(plan.ffmpeg.path, args, {
        cwd: plan.sessionDir,
        detached: true,
        stdin: true,
        onStep: (step) => this.logger.info('ffmpeg_stop_step', { step }),
      });
    } catch (error) {
      await watcher.drain();
      throw error;
    }
    const anchor = new Date();
    const runStart = chunks.beginRun(anchor);
    this.current = ffmpeg;
    const releaseWatchdog = startOrphanWatchdog(ffmpeg.pid, stopTimeoutSeconds * 1000, (error) =>
      this.logger.warning('orphan_watchdog_failed', {
        run: runNumber,
        reason: error.message,
        effect: 'ffmpeg is not stopped if echolog is killed',
      }),
    );
    const output: RunOutput = { stderrTail: [], progress: new FfmpegProgress(), errorLines: 0 };
    const stderrLog = this.wireRunOutputs(ffmpeg, output, runStart);
    let stalled = false;
    // Wakes when a stall could first be due (a stall's threshold after the last chunk), not every
    // second: a chunk that came meanwhile moves the next wake-up (issue 19: no polling when nothing changes).
    let stallTimer: NodeJS.Timeout | undefined;
    const checkStall = (): void => {
      // Stopping takes its own time (the stop ladder): that is no stall.
      if (this.options.isStopRequested()) return;
      const now = Date.now();
      const after = stallAfterMs(this.options.segmentTime);
      const level = stallLevel(lastProgress, now, this.options.segmentTime);
      if (level === 'stalled' && !stallWarned) {
        stallWarned = true;
        const since = new Date(lastProgress).toISOString();
        recorderLogger.warning('capture_stalled', {
          since,
          seconds: Math.round((now - lastProgress) / 1000),
          after_s: after / 1000,
          detail: 'no new chunk; ffmpeg is restarted if this goes on',
        });
        void manifest.update((m) => (m.capture = { ...captureStatus(m), stalled_since: since }));
      } else if (level === 'dead' && !stalled) {
        stalled = true;
        recorderLogger.warning('capture_dead', { since: new Date(lastProgress).toISOString(), detail: 'stopping ffmpeg to restart it' });
        void ffmpeg.stop(stopOptions);
        return;
      }
      const due = lastProgress + (level === 'ok' ? after : 2 * after) - now;
      stallTimer = setTimeout(checkStall, Math.max(STALL_CHECK_MS, due));
    };
    stallTimer = setTimeout(checkStall, stallAfterMs(this.options.segmentTime));
    try {
      // Its start time with its pid: recovery signals this pid only while both still match.
      const startTicks = readStartTicks(ffmpeg.pid) ?? null;
      await manifest.update((m) => {
        m.ffmpeg_pid = ffmpeg.pid;
        m.ffmpeg_start_ticks = startTicks;
        m.ffmpeg_command = command;
      });
      this.logger.info('ffmpeg_started', { pid: ffmpeg.pid, run: runNumber > 1 ? runNumber : undefined });
      onSpawned(anchor);
      const stopOnRequest = this.options.stopRequested.then(() => {
        return ffmpeg.stop({ ...stopOptions, deadlineMs: STOP_DEADLINE_MS });
      });
      const exit = await Promise.race([ffmpeg.exited, stopOnRequest]);
      stderrLog.close();
      this.logger.info('ffmpeg_exited', { code: exit.code, signal: exit.signal ?? undefined, run: runNumber > 1 ? runNumber : undefined });
      await watcher.drain();
      if (stallWarned) void manifest.update((m) => (m.capture = { ...captureStatus(m), stalled_since: null }));
      return { exit, stalled, stderrTail: output.stderrTail, progress: output.progress.value, errorLines: output.errorLines, listed };
    } catch (error) {
      // Released only once ffmpeg is gone: a crash of echolog before that would orphan it.
      await ffmpeg.stop(stopOptions);
      await watcher.drain().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(stallTimer);
      stderrLog.close();
      releaseWatchdog();
    }
  }

  /**
   * Everything one ffmpeg run's output streams feed, in one place per run: stderr's progress
   * report to the run's FfmpegProgress, its other lines to the log (through the flood guard), to
   * the failure tail, the error count and the session's own checks; stdout (the
   * live-audio output) to its consumer, which reads it always, so a slow or stopped engine never
   * blocks ffmpeg's writes, and places it from `runStart` (session seconds), as the run's chunks.
   */
  private wireRunOutputs(ffmpeg: ManagedProcess, output: RunOutput, runStart: number): FfmpegStderrLog {
    const { log } = this.options;
    if (this.live && ffmpeg.child.stdout) this.live.attach(ffmpeg.child.stdout, runStart);
    const stderrLog = new FfmpegStderrLog(this.logger, (level) => log.isEnabled(level));
    const levels = new LevelWindowReader(this.options.plan.capture.sampleRate, (db, seconds) => this.options.onLevel?.(db, seconds));
    ffmpeg.onLines('stderr', (line) => {
      if (levels.line(line)) return;
      if (output.progress.line(line)) return;
      // The tail for the failure message keeps the real lines, whatever the flood guard lets into the log.
      if (output.stderrTail.push(line) > STDERR_TAIL_LINES) output.stderrTail.shift();
      if (classifyStderrLine(line) === 'error') output.errorLines++;
      stderrLog.line(line);
      this.options.onStderrLine(line);
    });
    return stderrLog;
  }

  /**
   * The chunk files of a run that its list does not name: the one it was writing when it died.
   * A repaired one gets a row in the run's list (a row means final) and goes to the chunk sink.
   */
  private async fixTornChunks(runNumber: number, startNumber: number, listed: ListedFiles): Promise<void> {
    const { plan, chunks } = this.options;
    const logger = this.options.log.logger('echolog.recorder');
    const rows = await repairUnlistedChunks(plan.sessionDir, { from: startNumber, listed, listName: segmentListName(runNumber), logger });
    for (const row of rows) chunks.add(row, { repaired: true });
  }
}

interface RunOutput {
  stderrTail: string[];
  progress: FfmpegProgress;
  errorLines: number;
}

interface RunResult {
  exit: ProcessExit;
  stalled: boolean;
  stderrTail: string[];
  progress: ProgressReport;
  errorLines: number;
  listed: ListedChunks;
}

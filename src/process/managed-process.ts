import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive, parseState, procAvailable, readStartTicks } from './process-identity.js';
import { ORPHAN_WATCHDOG_NAME, ORPHAN_WATCHDOG_SCRIPT } from './orphan-watchdog.js';

/**
 * The only module that starts processes. It owns the stop ladder: ask politely
 * (a key on stdin), wait, then SIGINT, SIGTERM and, only as the last step, SIGKILL.
 */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Own process group: a Ctrl-C in the terminal reaches echolog only, which then stops the
   * child in order (for ffmpeg: `q`, so the open chunk is finalized). Pair with an orphan watchdog.
   */
  detached?: boolean;
  /** Keep stdin open to talk to the child (ffmpeg's `q`, audio for an engine). */
  stdin?: boolean;
  /** Told of each step of the stop ladder as it is taken, so the caller can log it. */
  onStep?: (step: StopStep) => void;
  /**
   * A file descriptor for the child's stderr, its stdout discarded, instead of pipes: a daemon
   * that outlives us writes into its log, never into a pipe whose reader is gone.
   */
  stderrFd?: number;
}

/** A rung of the stop ladder: the polite input written to stdin (e.g. `q`), or a signal. */
export type StopStep = string;

export interface StopOptions {
  /** Text written to stdin first, e.g. `q` for ffmpeg; omitted: start with SIGINT. */
  politeInput?: string;
  /** Wait between steps of the ladder. */
  stepTimeoutMs: number;
  /**
   * The whole ladder's bound, from the call: the rungs before SIGKILL share what is left (each
   * waits at most its even share), so SIGKILL is sent by then whatever `stepTimeoutMs` says.
   * A stop someone is waiting for (a signal to echolog) passes STOP_DEADLINE_MS.
   */
  deadlineMs?: number;
}

/**
 * How long a requested stop may take to reach SIGKILL: SIGINT/SIGTERM must end echolog within
 * 5 s from any state, and session_stop and the final session.json come after ffmpeg has gone.
 */
export const STOP_DEADLINE_MS = 4000;

const LADDER: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];

export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private escalation = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly command: string,
    private readonly onStep: (step: StopStep) => void = () => undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** Starts a process and waits until it is really running; ENOENT and EACCES reject here. */
  static async start(command: string, args: readonly string[], options: StartProcessOptions = {}): Promise<ManagedProcess> {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: options.detached ?? false,
      stdio: [options.stdin ? 'pipe' : 'ignore', options.stderrFd === undefined ? 'pipe' : 'ignore', options.stderrFd ?? 'pipe'],
    });
    // A child that dies while we write to it must not crash echolog with EPIPE.
    child.stdin?.on('error', () => undefined);
    await Promise.race([once(child, 'spawn'), once(child, 'error').then(([error]) => Promise.reject(error))]);
    return new ManagedProcess(child, command, options.onStep);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** Calls `onLine` for every line of the stream, without its line ending. */
  onLines(stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
    const source = this.child[stream];
    if (!source) return;
    readline.createInterface({ input: source, crlfDelay: Infinity }).on('line', onLine);
  }

  /**
   * The last `max` lines of the stream, kept as they come (an array that fills while the child runs): what a
   * failure message quotes, and never more than that in memory.
   */
  lastLines(stream: 'stdout' | 'stderr', max: number): readonly string[] {
    const lines: string[] = [];
    this.onLines(stream, (line) => {
      if (lines.push(line) > max) lines.shift();
    });
    return lines;
  }

  /** Lets this process exit while the child runs on (a daemon); `exited` still resolves while we live. */
  unref(): void {
    this.child.unref();
  }

  write(data: string | Uint8Array): boolean {
    return this.child.stdin?.writable ? this.child.stdin.write(data) : false;
  }

  /** Walks the stop ladder until the process has exited; resolves with how it exited. */
  async stop(options: StopOptions): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    // Monotonic: a clock stepped back must not stretch the deadline.
    const deadline = performance.now() + (options.deadlineMs ?? Infinity);
    const waitingRungs = (): number =>
      (options.politeInput !== undefined && this.escalation === 0 ? 1 : 0) + LADDER.length - 1 - this.escalation;
    const stepWait = (): number =>
      Math.max(0, Math.min(options.stepTimeoutMs, (deadline - performance.now()) / Math.max(1, waitingRungs())));
    // A stopped process (SIGSTOP, a debugger) hears nothing but SIGKILL and SIGCONT: wake it, so
    // `q` can still finalize its open chunk.
    if (this.isStopped()) this.signal('SIGCONT');
    if (options.politeInput !== undefined && this.escalation === 0) {
      this.onStep(options.politeInput);
      this.write(options.politeInput);
      if (await this.exitedWithin(stepWait())) return this.exit!;
    }
    // Bounded by the ladder: each pass climbs one rung, and the last is SIGKILL.
    while (!this.exit && this.escalation < LADDER.length) {
      this.signal(LADDER[this.escalation++]!);
      if (await this.exitedWithin(stepWait())) break;
    }
    // After SIGKILL only the kernel is left to wait for (a process in uninterruptible sleep).
    return this.exited;
  }

  /** Skips one rung of the ladder now (a second Ctrl-C). */
  escalate(): void {
    if (!this.exit && this.escalation < LADDER.length) this.signal(LADDER[this.escalation++]!);
  }

  private isStopped(): boolean {
    try {
      const state = parseState(fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8'));
      return state === 'T' || state === 't';
    } catch {
      return false; // gone, or no /proc (macOS): the deadline still ends the ladder
    }
  }

  private signal(signal: NodeJS.Signals): void {
    this.onStep(signal);
    try {
      this.child.kill(signal);
    } catch {
      // Already gone: 'close' resolves `exited`.
    }
  }

  private async exitedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const done = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }
}

export interface CommandOutput extends ProcessExit {
  stdout: Buffer;
  stderr: string;
  /** It ran past `timeoutMs` and was stopped. */
  timedOut: boolean;
}

/**
 * Runs a short command to its end and collects its output (`pactl`, `ffmpeg -sources`, a 1 s
 * probe of a device). Past `timeoutMs` it is stopped (SIGINT, then SIGKILL). A command that
 * cannot start rejects (ENOENT, EACCES).
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandOutput> {
  const process = await ManagedProcess.start(command, args, { env: options.env });
  const stdout: Buffer[] = [];
  let stderr = '';
  process.child.stdout?.on('data', (data: Buffer) => stdout.push(data));
  process.child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
  let timedOut = false;
  // Bounds the wait on `exited` below: timeoutMs, then the stop ladder.
  const timer = setTimeout(() => {
    timedOut = true;
    void process.stop({ stepTimeoutMs: 1000 });
  }, options.timeoutMs);
  const exit = await process.exited;
  clearTimeout(timer);
  return { ...exit, stdout: Buffer.concat(stdout), stderr, timedOut };
}

/**
 * Starts a small detached process that SIGINTs `childPid` (so ffmpeg finalizes the open chunk)
 * if this process dies without stopping it: a SIGKILL or a crash of echolog. It learns of our
 * death from a pipe we never write to reaching its end, so it costs nothing while we live; it is a
 * shell (orphan-watchdog.ts says what it does), not a second Node.
 * Call the returned function once the child has exited normally.
 */
export function startOrphanWatchdog(childPid: number, stepTimeoutMs: number, onStartFailure: (error: Error) => void): () => void {
  // Read now, while the child surely runs (it was just started): a later read could see its pid reused.
  const startTicks = readStartTicks(childPid);
  if (startTicks === undefined && procAvailable()) return () => undefined; // already gone: nothing to guard
  const tenths = Math.ceil(stepTimeoutMs / 100);
  const watchdog = spawn(
    '/bin/sh',
    ['-c', ORPHAN_WATCHDOG_SCRIPT, ORPHAN_WATCHDOG_NAME, String(childPid), String(startTicks ?? 'none'), String(tenths)],
    {
      detached: true,
      // Its stdin is the pipe: our end is close-on-exec, so no other child of ours holds it open after we die.
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  // A shell that cannot start (no /bin/sh, the process limit): the recording goes on unguarded rather than
  // crash, and says so.
  watchdog.once('error', onStartFailure);
  watchdog.unref();
  return () => {
    // End it rather than hang up: a hang-up looks like our death, and by now the child's pid is
    // free and may belong to another process, which the watchdog must never signal. SIGTERM ends
    // it wherever it is (it traps nothing).
    watchdog.kill('SIGTERM');
  };
}

/**
 * Stops a process we did not start (an orphaned ffmpeg): SIGINT first, which finalizes
 * ffmpeg's open chunk, then SIGTERM and SIGKILL, waiting `stepMs` between steps.
 * `isTarget` is asked before every signal: a pid from disk may be reused at any moment
 * (see process-identity.ts). `sigkill: false` stops before the last rung, for a pid
 * whose identity could not be proven.
 */
export async function stopProcessByPid(
  pid: number,
  stepMs: number,
  isTarget: () => boolean = () => isProcessAlive(pid),
  sigkill = true,
): Promise<void> {
  for (const signal of sigkill ? LADDER : LADDER.filter((s) => s !== 'SIGKILL')) {
    if (!isTarget()) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    // Monotonic, so a clock stepped back cannot stretch a rung.
    const deadline = performance.now() + stepMs;
    while (isTarget() && performance.now() < deadline) await sleep(100);
  }
}

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogLine, type ParsedLogLine } from '../../src/logging/line-format.js';
import { MARK, trackGroup } from './processes.js';

/** The built CLI, as a user runs it. `npm test` builds first. */
export const BIN = fileURLToPath(new URL('../../bin/echolog', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface Sandbox {
  root: string;
  home: string;
  recordings: string;
  /** An environment that keeps the user's real home, config and recordings out of the test. */
  env: NodeJS.ProcessEnv;
}

/** A fresh temp HOME/XDG/recordings dir; removed by `cleanup`. */
export function makeSandbox(): Sandbox & { cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-test-'));
  const home = path.join(root, 'home');
  const recordings = path.join(root, 'recordings');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(home);
  fs.mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    // What echolog leaves in the temp folder when a test SIGKILLs it (a decoder's FIFO folder) goes with the sandbox.
    TMPDIR: tmp,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_RUNTIME_DIR: path.join(root, 'run'),
    ECHOLOG_RECORDINGS_DIR: recordings,
    ECHOLOG_ENGINE: 'none',
    LANG: 'C',
    // Marks every process started with this env as this test file's (test/helpers/processes.ts).
    [MARK]: process.env[MARK],
  };
  return { root, home, recordings, env, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** `sandbox()` makes a fresh sandbox per test (for `it.concurrent`); call `cleanup` in afterAll. */
export function sandboxPool(): { sandbox: () => Sandbox & { cleanup: () => void }; cleanup: () => void } {
  const made: Array<Sandbox & { cleanup: () => void }> = [];
  return {
    sandbox: () => {
      const s = makeSandbox();
      made.push(s);
      return s;
    },
    cleanup: () => made.forEach((s) => s.cleanup()),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Where a CLI run happens: the sandbox, optionally a cwd other than its home, and optionally a
 * command that runs echolog (`via`, e.g. the `nsenter …` of a private /tmp).
 */
export type RunPlace = Pick<Sandbox, 'env' | 'home'> & { cwd?: string; via?: string[] };

/** A run that outlives this is killed, its whole process group with it. */
const RUN_TIMEOUT_MS = 120_000;

/** Runs `echolog <args>` to completion, in the sandbox home (so the config search stays inside it). */
export function runCli(args: string[], sandbox: RunPlace, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = startCli(args, sandbox, extraEnv);
  const timer = setTimeout(() => killGroup(child), RUN_TIMEOUT_MS);
  return exitOf(child).then(async ({ code, signal }) => {
    clearTimeout(timer);
    // 'exit' can come before the pipes are drained: wait for 'close' (bounded by the pipes' end).
    if (child.stdout?.readable || child.stderr?.readable) await new Promise((r) => child.once('close', r));
    return { code, signal, ...child.output() };
  });
}

/**
 * Starts `echolog <args>` and returns the child, for tests that signal it while it records. It
 * leads its own process group (killed with everything in it when the test file ends).
 */
export function startCli(
  args: string[],
  sandbox: RunPlace,
  extraEnv: NodeJS.ProcessEnv = {},
): ChildProcess & { output: () => { stdout: string; stderr: string } } {
  const [command, ...argv] = [...(sandbox.via ?? []), BIN, ...args];
  const child = spawn(command!, argv, {
    cwd: sandbox.cwd ?? sandbox.home,
    env: { ...sandbox.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackGroup(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { output: () => ({ stdout, stderr }) });
}

/** SIGKILLs a child's process group (it leads one: see startCli), or the child alone if it does not. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * The child's exit, or a failure after `timeoutMs` that says what it was doing (the tail of its
 * stderr and of `logFile`, if given): a hang reads as a finding, not as a bare test timeout.
 */
export async function exitWithin(
  child: ChildProcess & { output?: () => { stdout: string; stderr: string } },
  timeoutMs: number,
  logFile?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const tail = (text: string) => text.split('\n').slice(-15).join('\n');
      const log = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      reject(
        new Error(
          `pid ${child.pid} still running after ${timeoutMs} ms\nstderr:\n${tail(child.output?.().stderr ?? '')}\n${logFile ?? 'log'}:\n${tail(log)}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([exitOf(child), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The one session folder in a recordings dir (most tests record exactly one). */
export function onlySessionDir(recordings: string): string {
  const dirs = fs.readdirSync(recordings, { withFileTypes: true }).filter((e) => e.isDirectory());
  if (dirs.length !== 1) throw new Error(`expected one session in ${recordings}, found ${dirs.map((d) => d.name).join(', ')}`);
  return path.join(recordings, dirs[0]!.name);
}

/** Every line of session.log, parsed; throws on a line that does not parse. */
export function readSessionLog(sessionDir: string, name = 'session.log'): ParsedLogLine[] {
  const text = fs.readFileSync(path.join(sessionDir, name), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const parsed = parseLogLine(line);
      if (!parsed) throw new Error(`session.log line does not parse: ${line}`);
      return parsed;
    });
}

/** Speech that pocketsphinx recognises well: flite's voice, resampled to 16 kHz mono WAV. */
export async function makeSpeech(text: string, out: string): Promise<string> {
  const raw = `${out}.flite.wav`;
  await execFileAsync('flite', ['-voice', 'slt', '-t', text, '-o', raw]);
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    raw,
    '-ar',
    '16000',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  fs.rmSync(raw);
  return out;
}

export function execFileAsync(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(Object.assign(error, { stdout, stderr })) : resolve({ stdout, stderr }),
    );
  });
}

export const SINE = 'sine=frequency=440:sample_rate=48000';

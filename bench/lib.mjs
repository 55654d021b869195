// Shared helpers for `npm run bench`: sandboxes, running the built CLI, CPU accounting, log parsing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse as parseShell } from 'shell-quote';
import { parseLogLine } from '../dist/logging/line-format.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The built CLI, exactly as a user runs it. */
export const BIN = path.join(REPO, 'bin', 'echolog');
/** GNU time (Debian package `time`): rusage of a child and of every descendant it waited for. */
export const GNU_TIME = '/usr/bin/time';
export const SINE = 'sine=frequency=440:sample_rate=48000';
export const TWO_HOURS = 7200;

/** `echolog record` of a lavfi sine, quiet, without transcription: the argv every benchmark starts from. */
export function sineRecordArgs({ sessionId, audioSeconds, realtime = false, segmentTime = 10, logLevel = 'info', extra = [] }) {
  return [
    'record',
    '-q',
    '--session-id',
    sessionId,
    '--input-format',
    'lavfi',
    '--input',
    SINE,
    ...(realtime ? [] : ['--no-realtime']),
    '--segment-time',
    String(segmentTime),
    '--duration',
    String(audioSeconds),
    '--log-level',
    logLevel,
    '--engine',
    'none',
    ...extra,
  ];
}

export function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireTool(name, hint) {
  const found = name.startsWith('/') ? (fs.existsSync(name) ? name : undefined) : findOnPath(name);
  if (!found) throw new Error(`${name} not found: ${hint}`);
  return found;
}

/** A temp HOME/XDG/recordings dir that keeps the user's config and recordings out of the bench. */
export function makeSandbox(label) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `echolog-bench-${label}-`));
  const home = path.join(root, 'home');
  const recordings = path.join(root, 'recordings');
  fs.mkdirSync(home);
  fs.mkdirSync(recordings);
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_RUNTIME_DIR: path.join(root, 'run'),
    ECHOLOG_RECORDINGS_DIR: recordings,
    ECHOLOG_ENGINE: 'none',
    LANG: 'C',
  };
  return {
    root,
    home,
    recordings,
    env,
    cleanup: () => {
      if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion; stdout/stderr are drained (piped) like echolog drains ffmpeg's. */
export function run(command, args, { cwd, env, stdin = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, wallMs: performance.now() - started, child }));
  });
}

/** Runs `command args` under GNU time; returns its rusage (user+sys of it and its waited-for descendants). */
export async function runTimed(command, args, options = {}) {
  const timeFile = path.join(os.tmpdir(), `echolog-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const result = await run(GNU_TIME, ['-f', TIME_FORMAT, '-o', timeFile, command, ...args], options);
  const rusage = readTimeFile(timeFile);
  fs.rmSync(timeFile, { force: true });
  return { ...result, rusage };
}

export const TIME_FORMAT = '%U %S %e %M';

/** Parses GNU time's `-o` file (its last line; a failed command adds a "Command exited…" line first). */
export function readTimeFile(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const [user, system, elapsed, maxRssKb] = lines.at(-1).trim().split(/\s+/).map(Number);
  return { user, system, cpu: user + system, elapsed, maxRssKb };
}

/**
 * An ffmpeg that reports its own CPU: echolog runs this script (ECHOLOG_FFMPEG), which execs the real
 * ffmpeg under GNU time. GNU time only waits, so it adds nothing to ffmpeg's figures.
 */
export function writeTimedFfmpegWrapper(dir, realFfmpeg, timeFile) {
  const wrapper = path.join(dir, 'ffmpeg-timed');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${GNU_TIME} -f '${TIME_FORMAT}' -o '${timeFile}' '${realFfmpeg}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/** Every line of session.log (and its backups, oldest first), parsed; unparsable lines are counted. */
export function readLogFile(file) {
  const text = fs.readFileSync(file, 'utf8');
  const raw = text.split('\n');
  const endsWhole = text.length === 0 || text.endsWith('\n');
  if (endsWhole) raw.pop();
  const lines = [];
  const broken = [];
  for (const line of raw) {
    const parsed = parseLogLine(line);
    if (parsed) lines.push(parsed);
    else broken.push(line);
  }
  return { lines, broken, endsWhole, bytes: Buffer.byteLength(text) };
}

/** session.log and its numbered backups in the session folder, oldest first. */
export function logFiles(sessionDir) {
  const backups = fs
    .readdirSync(sessionDir)
    .map((name) => /^session\.log\.(\d+)$/.exec(name))
    .filter(Boolean)
    .map((m) => ({ name: m[0], n: Number(m[1]) }))
    .sort((a, b) => b.n - a.n)
    .map((b) => b.name);
  const others = fs
    .readdirSync(sessionDir)
    .filter((name) => name.startsWith('session.log') && name !== 'session.log' && !/^session\.log\.\d+$/.test(name));
  return { ordered: [...backups, 'session.log'].map((name) => path.join(sessionDir, name)), backups, others };
}

export function sumLogBytes(sessionDir) {
  return logFiles(sessionDir).ordered.reduce((sum, file) => sum + fs.statSync(file).size, 0);
}

/** The argv echolog gave ffmpeg, from the `ffmpeg_command` line of session.log. */
export function ffmpegArgvFromLog(lines) {
  const line = lines.find((l) => l.message === 'ffmpeg_command');
  if (!line) throw new Error('session.log has no ffmpeg_command line');
  const argv = parseShell(line.fields.command);
  if (argv.some((part) => typeof part !== 'string')) throw new Error(`ffmpeg_command is not a plain argv: ${line.fields.command}`);
  return argv;
}

/** Deletes the chunk WAVs of a session (2 h of audio is 230 MB) but keeps logs and lists. */
export function removeChunks(dir) {
  for (const name of fs.readdirSync(dir)) if (name.endsWith('.wav')) fs.rmSync(path.join(dir, name));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function round(value, digits = 3) {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
}

/**
 * Follows a growing text file from this process and timestamps each complete line as it appears.
 * Re-opens the file when it is replaced (size rotation renames it away).
 */
export class LineFollower {
  constructor(file, onLine) {
    this.file = file;
    this.onLine = onLine;
    this.fd = undefined;
    this.ino = undefined;
    this.offset = 0;
    this.pending = '';
  }

  /** Reads whatever is new, synchronously, so `now` is when the bytes were seen. */
  poll(now = nowMs()) {
    let stat;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return;
    }
    if (this.fd === undefined || stat.ino !== this.ino) {
      if (this.fd !== undefined) {
        this.drainFd(now);
        fs.closeSync(this.fd);
      }
      this.fd = fs.openSync(this.file, 'r');
      this.ino = stat.ino;
      this.offset = 0;
      this.pending = '';
    }
    this.drainFd(now);
  }

  drainFd(now) {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(this.fd, buffer, 0, buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.pending += buffer.toString('utf8', 0, n);
    }
    const cut = this.pending.lastIndexOf('\n');
    if (cut < 0) return;
    const lines = this.pending.slice(0, cut).split('\n');
    this.pending = this.pending.slice(cut + 1);
    for (const line of lines) if (line) this.onLine(line, now);
  }

  close() {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

/** Resolves when `dir/name` exists, watching `dir` (no polling gap: checks again after attaching). */
export function waitForEntry(dir, name, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const target = path.join(dir, name);
    const done = () => {
      clearTimeout(timer);
      watcher.close();
      resolve(target);
    };
    const watcher = fs.watch(dir, (_event, changed) => {
      if ((changed === name || changed === null) && fs.existsSync(target)) done();
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`timed out waiting for ${target}`));
    }, timeoutMs);
    if (fs.existsSync(target)) done();
  });
}

export function machineFacts() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
  };
}

/** The peak resident set of a process (VmHWM from /proc, kB); 0 once it is gone. */
export function vmHwmKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs the built CLI; polls its own peak RSS (VmHWM, kB); sends SIGINT after `stopAfterMs` if given. */
export function runCliPeakRss(args, { cwd, env, stopAfterMs }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let peakKb = 0;
    let stopAskedAt;
    child.stdout.resume();
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => (peakKb = Math.max(peakKb, vmHwmKb(child.pid))), 100);
    const stopTimer =
      stopAfterMs === undefined ? undefined : setTimeout(() => ((stopAskedAt = performance.now()), child.kill('SIGINT')), stopAfterMs);
    child.on('error', reject);
    child.on('exit', () => (peakKb = Math.max(peakKb, vmHwmKb(child.pid))));
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(stopTimer);
      const ended = performance.now();
      resolve({
        code,
        signal,
        stderr,
        wallMs: ended - started,
        stopMs: stopAskedAt === undefined ? undefined : ended - stopAskedAt,
        peakKb,
      });
    });
  });
}

import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PassThrough, type Writable } from 'node:stream';
import { guardOutputStreams, type OutputClosed } from '../src/cli/output-guard.js';
import { makeDirectories } from '../src/files/make-directories.js';
import { ManagedProcess } from '../src/process/managed-process.js';
import { expectStopLast, isAlive, readManifestSync } from './helpers/chunks.js';
import { BIN, exitOf, readSessionLog, runCli, sandboxPool, startCli, waitFor } from './helpers/cli.js';

/**
 * Issue 16 §1: nothing echolog does can hang. A closed pipe, a recordings dir under /proc and a
 * frozen ffmpeg each once spun or waited for ever; each is run here for real, under a deadline.
 */
const pool = sandboxPool();
const sandbox = pool.sandbox;
const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(pool.cleanup);

/** Every process below `pid`, from /proc's children lists. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** pocketsphinx_continuous or echolog's stream decoder (ffmpeg's arguments name the decoder's FIFO too). */
function isDecoder(pid: number): boolean {
  try {
    const [program = '', script = ''] = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(program).startsWith('pocketsphinx') || path.basename(script).startsWith('pocketsphinx');
  } catch {
    return false;
  }
}

/** Digital silence, so the silence alarm (1 s) has a warning to print on stderr. */
const SILENT = ['--input-format', 'lavfi', '--input', 'anullsrc=r=16000:cl=mono', '--segment-time', '1', '--no-transcribe'];

function silenceAlarmConfig(root: string): string[] {
  const file = path.join(root, 'alarm.conf');
  fs.writeFileSync(file, 'recording:\n  silence_alarm: 1\n', { mode: 0o644 });
  return ['--config', file];
}

describe('a closed stdout/stderr (`echolog record 2>&1 | head -1`)', () => {
  it.concurrent('is no longer written to, said once in session.log; the recording ends as it would have', async () => {
    const box = sandbox();
    // A real pipe whose reader leaves after one line; echolog's exit code comes back through a file.
    const pipeline = `(${BIN} record ${[...SILENT, ...silenceAlarmConfig(box.root)].join(' ')} --duration 4 --session-id piped 2>&1; echo $? > status) | head -1`;
    const shell = execFile('sh', ['-c', pipeline], { cwd: box.home, env: box.env, timeout: 60_000, killSignal: 'SIGKILL' });
    let stdout = '';
    shell.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await exitOf(shell);
    expect(stdout).toMatch(/^Logging to \S+session\.log \(level=info\)\n$/);
    expect(fs.readFileSync(path.join(box.home, 'status'), 'utf8').trim()).toBe('0');
    const log = readSessionLog(path.join(box.recordings, 'piped'));
    // The warning that once looped through the uncaught-exception handler was logged.
    expect(log.some((l) => l.message === 'input_silent')).toBe(true);
    const closed = log.filter((l) => l.message === 'output_closed');
    expect(closed.map((l) => l.fields.stream).sort()).toEqual(['stderr', 'stdout']);
    expect(closed.every((l) => l.level === 'WARNING' && l.fields.code === 'EPIPE')).toBe(true);
    const stop = expectStopLast(log, 'duration_reached');
    expect(stop.fields.chunks).toBe('4');
    expect(readManifestSync(path.join(box.recordings, 'piped'))?.status).not.toBe('recording');
  });

  it.concurrent('SIGTERM still stops it after both streams went away', async () => {
    const box = sandbox();
    const dir = path.join(box.recordings, 'piped-term');
    const child = spawn(
      'sh',
      ['-c', `exec ${BIN} record ${[...SILENT, ...silenceAlarmConfig(box.root)].join(' ')} --session-id piped-term 2>&1 | head -1`],
      {
        cwd: box.home,
        env: box.env,
        stdio: 'ignore',
      },
    );
    started.push(child.pid!);
    // Both streams closed, the second by the silence warning: the state that used to spin.
    await waitFor(
      () => fs.existsSync(path.join(dir, 'session.log')) && readSessionLog(dir).filter((l) => l.message === 'output_closed').length === 2,
      30_000,
      'both output_closed lines',
    );
    const pid = readManifestSync(dir)!.pid;
    started.push(pid);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), 10_000, 'echolog to end after SIGTERM');
    const log = readSessionLog(dir);
    expectStopLast(log, 'terminated');
    expect(readManifestSync(dir)?.status).not.toBe('recording');
    await exitOf(child);
  });
});

describe('guardOutputStreams', () => {
  it('a write to a pipe whose reader is gone: heard once, later writes dropped, their callbacks still called', async () => {
    // A real pipe (a FIFO) whose only reader closes, as `head -1` does after its line.
    const fifo = path.join(sandbox().root, 'screen');
    execFileSync('mkfifo', [fifo]);
    const readEnd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const stdout: Writable = new net.Socket({
      fd: fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK),
      readable: false,
      writable: true,
    });
    fs.closeSync(readEnd);
    const closed: OutputClosed[] = [];
    const watch = guardOutputStreams({ stdout, stderr: new PassThrough() });
    watch.onClosed((c) => closed.push(c));
    stdout.write('first\n');
    await waitFor(() => watch.isClosed('stdout'), 5_000, 'the EPIPE');
    for (let i = 0; i < 100; i++) expect(stdout.write('again\n')).toBe(true);
    await new Promise<void>((resolve, reject) => stdout.write('last\n', (error?: Error | null) => (error ? reject(error) : resolve())));
    expect(closed).toEqual([{ stream: 'stdout', code: 'EPIPE' }]);
    expect(watch.isClosed('stderr')).toBe(false);
    stdout.destroy();
  });
});

describe('a recordings dir where no folder can be made', () => {
  it.concurrent.each(['/proc/self/x', '/proc/self/x/y/z'])('--recordings-dir %s: exit 2 with one line, at once', async (dir) => {
    const box = sandbox();
    const result = await runCli(['record', ...SILENT, '--duration', '1', '--recordings-dir', dir], box);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `echolog: recordings dir ${dir} cannot be used: its file system takes no new folders (mkdir /proc/self/x: ENOENT although /proc/self exists); choose another with --recordings-dir, ECHOLOG_RECORDINGS_DIR or recordings_dir in echolog.conf\n`,
    );
  });

  it('daemon start --foreground --ipc-root under /proc: exit 2 with one line, at once', async () => {
    const box = sandbox();
    const result = await runCli(['daemon', 'start', '--foreground', '--engine', 'pocketsphinx', '--ipc-root', '/proc/self/x'], box);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^echolog: IPC root \/proc\/self\/x cannot be used: its file system takes no new folders .*\n$/);
  });

  it('makeDirectories creates every missing level once, and accepts what exists', async () => {
    const box = sandbox();
    const deep = path.join(box.root, 'a', 'b', 'c');
    await makeDirectories(deep, 0o700);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(fs.statSync(deep).mode & 0o777).toBe(0o700);
    await makeDirectories(deep, 0o700);
    fs.writeFileSync(path.join(box.root, 'file'), '');
    await expect(makeDirectories(path.join(box.root, 'file', 'x'), 0o700)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('SIGTERM while ffmpeg is frozen (SIGSTOP)', () => {
  it.concurrent('ends echolog within 5 s with session_stop last and a final session.json', async () => {
    const box = sandbox();
    const dir = path.join(box.recordings, 'frozen');
    const child = startCli(
      [...['record', '--input-format', 'lavfi', '--input', 'sine', '--segment-time', '1', '--no-transcribe'], '--session-id', 'frozen'],
      box,
    );
    started.push(child.pid!);
    const ffmpegPid = await waitFor(() => readManifestSync(dir)?.ffmpeg_pid ?? undefined, 30_000, 'ffmpeg to start');
    started.push(ffmpegPid);
    process.kill(ffmpegPid, 'SIGSTOP');
    await waitFor(() => /\) T /.test(fs.readFileSync(`/proc/${ffmpegPid}/stat`, 'utf8')), 5_000, 'ffmpeg to be stopped');
    const asked = performance.now();
    child.kill('SIGTERM');
    const exit = await exitOf(child);
    // Generous for a loaded machine; before the fix this took 3 × stop_timeout (15 s).
    expect(performance.now() - asked).toBeLessThan(5_000);
    expect(exit.code).toBe(143);
    expect(isAlive(ffmpegPid)).toBe(false);
    const log = readSessionLog(dir);
    expect(log.filter((l) => l.message === 'ffmpeg_stop_step').map((l) => l.fields.step)[0]).toBe('SIGCONT');
    expectStopLast(log, 'terminated');
    expect(readManifestSync(dir)?.status).not.toBe('recording');
  });

  it.concurrent(
    'with every decoder frozen: SIGTERM ends echolog within seconds, the untranscribed chunks named in session_stop',
    async () => {
      const box = sandbox();
      const dir = path.join(box.recordings, 'drain');
      const child = startCli(
        [
          'record',
          '--input-format',
          'lavfi',
          '--input',
          'sine=f=440:r=16000',
          '--segment-time',
          '1',
          '--engine',
          'pocketsphinx',
          '--session-id',
          'drain',
        ],
        box,
      );
      // Its own list, killed in its own finally: afterEach runs as each concurrent test ends, not this one.
      const mine = [child.pid!];
      // Freezes every pocketsphinx below echolog as it appears (the live decoder, then the per-chunk
      // ones that take over): the queue could then only end by drain_timeout (30 s).
      const frozen = new Set<number>();
      const freezer = setInterval(() => {
        for (const pid of descendants(child.pid!)) {
          if (frozen.has(pid) || !isDecoder(pid)) continue;
          frozen.add(pid);
          mine.push(pid);
          process.kill(pid, 'SIGSTOP');
        }
      }, 50);
      try {
        await waitFor(() => frozen.size > 0 && (readManifestSync(dir)?.stats.chunks ?? 0) >= 3, 30_000, 'a frozen decoder and 3 chunks');
        // From here a frozen decoder stays frozen until echolog's own stop ladder sends it SIGCONT.
        clearInterval(freezer);
        const asked = performance.now();
        child.kill('SIGTERM');
        const exit = await exitOf(child);
        // The issue's 5 s, with a second for a loaded machine; before the fix it was drain_timeout (30 s).
        expect(performance.now() - asked).toBeLessThan(6_000);
        expect(exit.code).toBe(143);
        const stop = expectStopLast(readSessionLog(dir), 'terminated');
        // Whatever the drain could not finish in the time left is named (the decoder, sent SIGCONT by the
        // stop ladder, may finish a short tone in time).
        expect(stop.fields.untranscribed_chunks).toMatch(/^\d+$/);
        expect(readManifestSync(dir)?.status).not.toBe('recording');
      } finally {
        clearInterval(freezer);
        for (const pid of mine) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  );

  it('a child that ignores q, SIGINT and SIGTERM is SIGKILLed by the stop deadline, not after 3 × the step timeout', async () => {
    // A fake on purpose: an ffmpeg wedged in the kernel cannot be made on demand; this node child
    // ignores every polite rung the way such an ffmpeg would.
    const steps: string[] = [];
    const script = "for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => {}); setInterval(() => {}, 1000)";
    const stubborn = await ManagedProcess.start(process.execPath, ['-e', script], { stdin: true, onStep: (step) => steps.push(step) });
    started.push(stubborn.pid);
    // Its handlers must be in place before the ladder starts (SigCgt bits 2 and 15: SIGINT, SIGTERM).
    await waitFor(
      () => (BigInt(`0x${/SigCgt:\s*(\w+)/.exec(fs.readFileSync(`/proc/${stubborn.pid}/status`, 'utf8'))![1]}`) & 0x4002n) === 0x4002n,
      10_000,
      'the handlers',
    );
    const asked = performance.now();
    const exit = await stubborn.stop({ politeInput: 'q', stepTimeoutMs: 60_000, deadlineMs: 1_500 });
    expect(exit.signal).toBe('SIGKILL');
    expect(steps).toEqual(['q', 'SIGINT', 'SIGTERM', 'SIGKILL']);
    expect(performance.now() - asked).toBeLessThan(20_000);
  });
});

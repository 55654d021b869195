import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLine, type ParsedLogLine } from '../src/logging/line-format.js';
import { exitOf, makeSandbox, onlySessionDir, readSessionLog, runCli, SINE, startCli, waitFor } from './helpers/cli.js';

/**
 * R8: whatever ends a session, the last line of session.log is `session_stop` with the reason,
 * and the last chunk on disk is logged before it. Real ffmpeg, real signals, real time.
 */
describe('session_stop is the last line for every way a session ends', { concurrent: true }, () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());
  const live = (recordings: string): string[] => [
    'record',
    '--input-format',
    'lavfi',
    '--input',
    SINE,
    '--duration',
    '60',
    '--segment-time',
    '1',
    '--recordings-dir',
    recordings,
  ];

  /** Lines so far (the file may be mid-write: only whole lines count). */
  const linesSoFar = (recordings: string): ParsedLogLine[] => {
    try {
      const text = fs.readFileSync(path.join(onlySessionDir(recordings), 'session.log'), 'utf8');
      return text
        .split('\n')
        .slice(0, -1)
        .flatMap((l) => parseLogLine(l) ?? []);
    } catch {
      return [];
    }
  };
  const firstChunk = (recordings: string) =>
    waitFor(() => linesSoFar(recordings).find((l) => l.message === 'chunk_created'), 20_000, 'the first chunk_created');

  /** The last line is session_stop and every chunk on disk is logged, in order, before it. */
  function expectCleanStop(recordings: string, reason: string): ParsedLogLine {
    const dir = onlySessionDir(recordings);
    const log = readSessionLog(dir);
    const stop = log.at(-1)!;
    expect(stop.message).toBe('session_stop');
    expect(stop.fields.reason).toBe(reason);
    expect(log.filter((l) => l.message === 'session_stop')).toHaveLength(1);
    // A chunk is final once ffmpeg lists it in segments.csv (a killed ffmpeg leaves one unfinished file).
    const final = fs
      .readFileSync(path.join(dir, 'segments.csv'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((row) => row.split(',')[0]);
    expect(final.length).toBeGreaterThan(0);
    expect(log.filter((l) => l.message === 'chunk_created').map((l) => l.fields.file)).toEqual(final);
    expect(stop.fields.chunks).toBe(String(final.length));
    return stop;
  }

  it('normal end (--duration): reason=duration_reached, exit 0', async () => {
    const recordings = path.join(sandbox.root, 'duration');
    const result = await runCli(
      ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '2', '--segment-time', '1', '--recordings-dir', recordings],
      sandbox,
    );
    expect(result.code).toBe(0);
    expect(expectCleanStop(recordings, 'duration_reached').fields.exit_code).toBe('0');
  });

  for (const [signal, reason, code] of [
    ['SIGINT', 'user_interrupt', 130],
    ['SIGTERM', 'terminated', 143],
    ['SIGHUP', 'terminated', 129],
  ] as const) {
    it(`${signal}: reason=${reason} signal=${signal}, exit ${code}, last chunk final and logged`, async () => {
      const recordings = path.join(sandbox.root, signal);
      const child = startCli(live(recordings), sandbox);
      await firstChunk(recordings);
      child.kill(signal);
      const exit = await exitOf(child);
      expect(exit.code, child.output().stderr).toBe(code);
      const stop = expectCleanStop(recordings, reason);
      expect(stop.fields.signal).toBe(signal);
      expect(stop.fields.exit_code).toBe(String(code));
    });
  }

  it('ffmpeg crash (killed with SIGKILL) with no restarts left: reason=ffmpeg_exit with the signal, exit 1', async () => {
    const recordings = path.join(sandbox.root, 'crash');
    // recording.max_restarts 0: the kill ends the session (restarts are tested in capture-supervision.test.ts).
    const config = path.join(sandbox.root, 'no-restarts.conf');
    fs.writeFileSync(config, 'recording:\n  max_restarts: 0\n', { mode: 0o644 });
    const child = startCli([...live(recordings), '--config', config], sandbox);
    await firstChunk(recordings);
    const started = linesSoFar(recordings).find((l) => l.message === 'ffmpeg_started')!;
    process.kill(Number(started.fields.pid), 'SIGKILL');
    const exit = await exitOf(child);
    expect(exit.code).toBe(1);
    const stop = expectCleanStop(recordings, 'ffmpeg_exit');
    expect(stop.fields.signal).toBe('SIGKILL');
    expect(stop.fields.exit_code).toBe('1');
  });

  it('an uncaught exception inside echolog: the fatal handler logs reason=error, flushes, exits 1', async () => {
    // No production hook: a module preloaded into the echolog process (node --import) throws from a
    // timer once the first chunk is logged — an uncaught exception exactly as a bug in any callback
    // would raise it, reaching the process-level handler that `record` installs.
    const recordings = path.join(sandbox.root, 'uncaught');
    const fault = path.join(sandbox.root, 'throw-after-first-chunk.mjs');
    fs.writeFileSync(
      fault,
      `import fs from 'node:fs';
import path from 'node:path';
const recordings = ${JSON.stringify(recordings)};
const timer = setInterval(() => {
  const logged = (fs.existsSync(recordings) ? fs.readdirSync(recordings) : []).some((entry) => {
    try {
      return fs.readFileSync(path.join(recordings, entry, 'session.log'), 'utf8').includes(' chunk_created ');
    } catch {
      return false; // not a session folder (the lock file), or no log yet
    }
  });
  if (!logged) return;
  clearInterval(timer);
  throw new Error('injected fault after the first chunk');
}, 50);
`,
    );
    const child = startCli(live(recordings), sandbox, { NODE_OPTIONS: `--import ${pathToFileURL(fault).href}` });
    const exit = await exitOf(child);
    expect(exit.code).toBe(1);
    expect(child.output().stderr).toContain('injected fault after the first chunk');
    const stop = expectCleanStop(recordings, 'error');
    expect(stop.fields.message).toBe('injected fault after the first chunk');
    expect(stop.fields.exit_code).toBe('1');
  });
});

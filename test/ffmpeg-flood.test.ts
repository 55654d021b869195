import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import shellQuote from 'shell-quote';
import { execFileAsync, exitOf, makeSandbox, onlySessionDir, readSessionLog, runCli, startCli } from './helpers/cli.js';

/**
 * Issue 8 row 2: ffmpeg flooding stderr. Two real floods, each bounded in output size and time:
 * - identical lines: `volume=volume=0/0:eval=frame` warns "Invalid value NaN for volume, setting
 *   to 0" once per frame, and `asetnsamples=n=16` makes 500 frames per second of audio;
 * - distinct lines: a looped `amovie` of flite speech restarts its timestamps, so the segment muxer
 *   warns "Non-monotonous DTS … previous: X, current: Y" for every packet (the flood, with
 *   16-sample packets so that it is large while the chunks stay small).
 * bench/flood.mjs measures RSS and log bytes on a longer run of the same floods.
 */
describe('ffmpeg stderr floods: collapsed, rate-capped, counted; the log stays small and whole', { concurrent: true }, () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());

  const record = async (name: string, input: string, seconds: number) => {
    const recordings = path.join(sandbox.root, name);
    const args = [
      'record',
      '--input-format',
      'lavfi',
      '--input',
      input,
      '--no-realtime',
      '--duration',
      String(seconds),
      '--segment-time',
      '10',
      '--sample-rate',
      '8000',
      '--engine',
      'none',
      '--recordings-dir',
      recordings,
    ];
    const result = await runCli(args, sandbox);
    expect(result.code, result.stderr).toBe(0);
    const dir = onlySessionDir(recordings);
    return { dir, log: readSessionLog(dir), bytes: fs.statSync(path.join(dir, 'session.log')).size };
  };

  it('identical lines: one written, the rest counted in ffmpeg_stderr_repeated; every line accounted for', async () => {
    const seconds = 60;
    const { dir, log, bytes } = await record('same', 'sine=sample_rate=8000,asetnsamples=n=16,volume=volume=0/0:eval=frame', seconds);
    const nan = (line: string | undefined): boolean => /\[warning\] Invalid value NaN for volume, setting to 0$/.test(line ?? '');
    const written = log.filter((l) => l.message === 'ffmpeg_stderr' && nan(l.fields.line));
    const repeated = log.filter((l) => l.message === 'ffmpeg_stderr_repeated');
    const dropped = log.filter((l) => l.message === 'ffmpeg_stderr_dropped');
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(repeated.length).toBeGreaterThanOrEqual(1);
    for (const line of repeated) expect(line).toMatchObject({ level: 'WARNING', logger: 'echolog.ffmpeg' });
    expect(repeated.every((l) => nan(l.fields.line))).toBe(true);
    const count = (lines: typeof log): number => lines.reduce((sum, l) => sum + Number(l.fields.count), 0);
    // Every warning is accounted for: as many as the logged command prints when run bare (~8000 / 16 per second of audio).
    const command = log.find((l) => l.message === 'ffmpeg_command')!.fields.command!;
    const bareDir = fs.mkdtempSync(path.join(sandbox.root, 'bare-'));
    const argv = (shellQuote.parse(command) as string[]).map((arg) => arg.replaceAll(dir, bareDir));
    const bare = await execFileAsync(argv[0]!, argv.slice(1));
    const printed = bare.stderr.split('\n').filter(nan).length;
    expect(printed).toBeGreaterThanOrEqual((seconds * 8000) / 16);
    expect(written.length + count(repeated) + count(dropped)).toBe(printed);
    expect(bytes).toBeLessThan(20 * 1024);
    expect(log[0]?.message).toBe('session_start');
    expect(log.at(-1)).toMatchObject({ message: 'session_stop', fields: { reason: 'duration_reached' } });
  });

  it("distinct lines (the issue's Non-monotonous DTS flood): at most 50 a second, the rest counted; a stop ends it at once", async () => {
    const speech = path.join(sandbox.root, 'speech.wav');
    await execFileAsync('flite', ['-t', 'hello world this is a test', speech]);
    const recordings = path.join(sandbox.root, 'dts');
    // The looped timestamps never reach --duration in reasonable time: the session is stopped, as a user would.
    const args = [
      'record',
      '--input-format',
      'lavfi',
      '--input',
      `amovie=${speech}:loop=0,asetnsamples=n=16`,
      '--no-realtime',
      '--duration',
      '1800',
      '--segment-time',
      '10',
      '--sample-rate',
      '8000',
      '--engine',
      'none',
      '--recordings-dir',
      recordings,
    ];
    const child = startCli(args, sandbox);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const stopAsked = Date.now();
    child.kill('SIGINT');
    const exit = await exitOf(child);
    expect(Date.now() - stopAsked).toBeLessThan(5000); // not draining a backlog of stderr
    expect(exit.code, child.output().stderr).toBe(130);
    const dir = onlySessionDir(recordings);
    const log = readSessionLog(dir);
    const written = log.filter((l) => l.message === 'ffmpeg_stderr' && /Non-monotonous DTS/.test(l.fields.line ?? ''));
    const dropped = log.filter((l) => l.message === 'ffmpeg_stderr_dropped');
    expect(written.length).toBeGreaterThan(0);
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    expect(dropped.every((l) => l.level === 'WARNING')).toBe(true);
    const droppedCount = dropped.reduce((sum, l) => sum + Number(l.fields.count), 0);
    expect(droppedCount).toBeGreaterThan(10 * written.length); // the flood was real, and mostly held back
    expect(written.length).toBeLessThanOrEqual(50 * 6); // 50 a second for the ~5 s it ran
    expect(fs.statSync(path.join(dir, 'session.log')).size).toBeLessThan(256 * 1024);
    // No rotation at the default 5 MB: session_start is still the first line of the active file.
    expect(log[0]?.message).toBe('session_start');
    expect(log.at(-1)).toMatchObject({ message: 'session_stop', fields: { reason: 'user_interrupt' } });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkFiles, expectChunksFinalAndLogged, expectStopLast, readManifestSync, segmentRows } from './helpers/chunks.js';
import { execFileAsync, exitOf, readSessionLog, runCli, sandboxPool, SINE, startCli, waitFor, type Sandbox } from './helpers/cli.js';
import { hasPulse, killAllPulse, killPulse, startPulse } from './helpers/pulse.js';

/**
 * Supervised capture with the real ffmpeg: restarts after a kill, a run that cannot start, a stall,
 * a silent input, and a real (private) PulseAudio server that goes away and comes back.
 */
const pool = sandboxPool();
const sandbox = pool.sandbox;
afterAll(() => {
  killAllPulse();
  pool.cleanup();
});

const LAVFI = ['--input-format', 'lavfi', '--input', SINE, '--segment-time', '1'];

/** A config file in the sandbox with these `recording:` keys (the tests keep the waits short). */
function recordingConfig(box: Sandbox, keys: Record<string, number>): string[] {
  const file = path.join(box.root, 'echolog.conf');
  fs.writeFileSync(
    file,
    `recording:\n${Object.entries(keys)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
    { mode: 0o644 },
  );
  return ['--config', file];
}

/** A fault the real ffmpeg cannot produce on demand: a fake ffmpeg (it says it is one) that always fails at once. */
function failingFfmpeg(box: Sandbox): string {
  const fake = path.join(box.root, 'fake-ffmpeg');
  fs.writeFileSync(fake, '#!/bin/sh\necho "[error] fake ffmpeg (a test stand-in): cannot open the input" >&2\nexit 1\n', { mode: 0o755 });
  return fake;
}

/** The lines with this message so far (none before session.log exists). */
function logged(dir: string, message: string) {
  return fs.existsSync(path.join(dir, 'session.log')) ? readSessionLog(dir).filter((l) => l.message === message) : [];
}

describe('restarts', () => {
  it.concurrent(
    'kill -9 of ffmpeg mid-session: restarted into the same session, numbers continue, gap logged, no torn chunk, duration still reached',
    async () => {
      const box = sandbox();
      const child = startCli(['record', ...LAVFI, '--duration', '6', '--session-id', 'killed'], box);
      const dir = path.join(box.recordings, 'killed');
      await waitFor(() => segmentRows(dir) >= 2, 20_000, '2 chunks');
      const firstPid = readManifestSync(dir)!.ffmpeg_pid!;
      process.kill(firstPid, 'SIGKILL');
      const exit = await exitOf(child);
      expect(exit.code, child.output().stderr).toBe(0);

      const log = readSessionLog(dir);
      expectStopLast(log, 'duration_reached');
      const restarts = log.filter((l) => l.message === 'capture_restart');
      expect(restarts).toHaveLength(1);
      expect(restarts[0]!.fields).toMatchObject({ attempt: '1', reason: 'crashed' });
      expect(Number(restarts[0]!.fields.gap_ms)).toBeGreaterThan(0);
      expect(Number(restarts[0]!.fields.gap_ms)).toBeLessThan(10_000);
      // The second run wrote its own list, starting after every chunk file of the first.
      const run1 = fs
        .readFileSync(path.join(dir, 'segments.csv'), 'utf8')
        .trim()
        .split('\n')
        .map((r) => r.split(',')[0]!);
      const run2 = fs
        .readFileSync(path.join(dir, 'segments.2.csv'), 'utf8')
        .trim()
        .split('\n')
        .map((r) => r.split(',')[0]!);
      expect(run2.length).toBeGreaterThan(0);
      expect(run2[0]! > run1.at(-1)!).toBe(true);
      expect(Number(restarts[0]!.fields.first_chunk)).toBe(Number(/\d+/.exec(run2[0]!)![0]));
      // Every chunk file is whole and logged once; the one the kill tore is repaired (and logged) or set aside and named.
      const created = expectChunksFinalAndLogged(dir, log);
      const torn = fs.readdirSync(dir).filter((f) => f.endsWith('.torn'));
      const named = log.filter((l) => l.message === 'chunk_set_aside').map((l) => l.fields.renamed_to);
      expect(named).toEqual(torn);
      for (const file of chunkFiles(dir)) expect(fs.statSync(path.join(dir, file)).size).toBeGreaterThan(44);
      // Timeline truth: the first chunk after the restart starts after the last one before it, by about the gap.
      const before = created.filter((c) => run1.includes(c.fields.file!) || c.fields.repaired === 'true').at(-1)!;
      const after = created.find((c) => c.fields.file === run2[0])!;
      const gapSeen = Date.parse(after.fields.start!) - Date.parse(before.fields.end!);
      expect(gapSeen).toBeGreaterThanOrEqual(0);
      expect(Math.abs(gapSeen - Number(restarts[0]!.fields.gap_ms))).toBeLessThan(1500);
      expect(Number(expectStopLast(log, 'duration_reached').fields.audio_duration_s)).toBeCloseTo(6, 0);
    },
  );

  it.concurrent(
    'an ffmpeg that dies at start every time: restarted up to recording.max_restarts with backoff, then a clear stop',
    async () => {
      const box = sandbox();
      const fake = failingFfmpeg(box);
      const result = await runCli(['record', ...LAVFI, ...recordingConfig(box, { max_restarts: 2 }), '--session-id', 'dies'], box, {
        ECHOLOG_FFMPEG: fake,
      });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /ffmpeg exited with code 1 \(gave up after 2 restarts\):\n\s+\[error\] fake ffmpeg \(a test stand-in\): cannot open the input/,
      );
      const dir = path.join(box.recordings, 'dies');
      const log = readSessionLog(dir);
      expect(log.filter((l) => l.message === 'capture_restart').map((l) => [l.fields.attempt, l.fields.reason])).toEqual([
        ['1', 'crashed'],
        ['2', 'crashed'],
      ]);
      expect(log.filter((l) => l.message === 'ffmpeg_started')).toHaveLength(3);
      const stop = expectStopLast(log, 'ffmpeg_exit');
      expect(stop.fields).toMatchObject({ code: '1', restarts: '2', exit_code: '1' });
      expect(stop.fields.stderr_tail).toContain('cannot open the input');
      expect(readManifestSync(dir)).toMatchObject({ status: 'error', stop_reason: 'ffmpeg_exit' });
    },
  );

  it.concurrent('Ctrl-C while waiting to restart ends the session at once with user_interrupt, no further ffmpeg', async () => {
    const box = sandbox();
    const fake = failingFfmpeg(box);
    const child = startCli(['record', ...LAVFI, ...recordingConfig(box, { max_restarts: 100 }), '--session-id', 'waiting'], box, {
      ECHOLOG_FFMPEG: fake,
    });
    const dir = path.join(box.recordings, 'waiting');
    await waitFor(() => logged(dir, 'capture_restart').length >= 4, 20_000, '4 restarts');
    child.kill('SIGINT');
    const exit = await exitOf(child);
    expect(exit.code, child.output().stderr).toBe(130);
    const log = readSessionLog(dir);
    expectStopLast(log, 'user_interrupt');
    const stopAt = log.findIndex((l) => l.message === 'stop_requested');
    expect(log.slice(stopAt).filter((l) => l.message === 'ffmpeg_started' || l.message === 'ffmpeg_command')).toEqual([]);
  });

  it.concurrent('no false success: an "ffmpeg" that exits 0 without audio (/bin/true) fails', async () => {
    const box = sandbox();
    const result = await runCli(
      ['record', ...LAVFI, ...recordingConfig(box, { max_restarts: 1 }), '--duration', '3', '--session-id', 'true'],
      box,
      { ECHOLOG_FFMPEG: '/bin/true' },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/ffmpeg exited with code 0 without producing any audio/);
    const stop = expectStopLast(readSessionLog(path.join(box.recordings, 'true')), 'ffmpeg_exit');
    expect(stop.fields.no_audio).toBe('true');
  });

  it.concurrent('a file shorter than --duration ends with end_of_input, exit 0', async () => {
    const box = sandbox();
    const file = path.join(box.root, 'two-seconds.wav');
    await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=sample_rate=16000', '-t', '2', file]);
    const result = await runCli(
      ['record', '--input', file, '--no-realtime', '--segment-time', '1', '--duration', '30', '--session-id', 'short'],
      box,
    );
    expect(result.code, result.stderr).toBe(0);
    expectStopLast(readSessionLog(path.join(box.recordings, 'short')), 'end_of_input');
  });
});

describe('stalls and silence', () => {
  it.concurrent(
    'ffmpeg frozen (SIGSTOP): capture_stalled after segment_time × 2 + 5 s, status shows it, then ffmpeg is restarted',
    async () => {
      const box = sandbox();
      const child = startCli(['record', ...LAVFI, '--session-id', 'frozen'], box);
      const dir = path.join(box.recordings, 'frozen');
      await waitFor(() => segmentRows(dir) >= 1, 20_000, 'the first chunk');
      const pid = readManifestSync(dir)!.ffmpeg_pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        const stalled = await waitFor(() => logged(dir, 'capture_stalled')[0], 20_000, 'capture_stalled');
        expect(stalled.level).toBe('WARNING');
        expect(Number(stalled.fields.seconds)).toBeGreaterThanOrEqual(7);
        // session.json follows the log line by one write (status reads it): a loaded machine can put a status between the two.
        await waitFor(() => readManifestSync(dir)?.capture?.stalled_since, 5_000, 'stalled_since in session.json');
        const status = await runCli(['status'], box);
        expect(status.stdout).toMatch(/capture: stalled since \S+ \(no new chunk/);
        const restart = await waitFor(() => logged(dir, 'capture_restart')[0], 30_000, 'capture_restart');
        expect(restart.fields.reason).toBe('stalled');
        await waitFor(
          () =>
            fs.existsSync(path.join(dir, 'segments.2.csv')) &&
            segmentRows(dir) >= 1 &&
            fs.readFileSync(path.join(dir, 'segments.2.csv'), 'utf8').length > 0,
          20_000,
          'a chunk after the restart',
        );
      } finally {
        // Normally gone by now; otherwise the test leaves no stopped process behind.
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      child.kill('SIGINT');
      const exit = await exitOf(child);
      expect(exit.code, child.output().stderr).toBe(130);
      const log = readSessionLog(dir);
      expectStopLast(log, 'user_interrupt');
      expectChunksFinalAndLogged(dir, log);
      expect(readManifestSync(dir) as unknown).toMatchObject({ capture: { stalled_since: null, restarts: 1 } });
    },
  );

  it.concurrent(
    'a silent input (digital zeros, then a tone): one WARNING and one stderr line per silent stretch, status shows the level',
    async () => {
      const box = sandbox();
      const silentThenTone = "aevalsrc='if(lt(t,3),0,0.5*sin(2*PI*440*t))':s=16000";
      const child = startCli(
        [
          'record',
          '--input-format',
          'lavfi',
          '--input',
          silentThenTone,
          '--segment-time',
          '1',
          '--duration',
          '5',
          ...recordingConfig(box, { silence_alarm: 2 }),
          '--session-id',
          'muted',
        ],
        box,
      );
      const dir = path.join(box.recordings, 'muted');
      await waitFor(() => logged(dir, 'input_silent')[0], 20_000, 'input_silent');
      const status = await runCli(['status', '--json'], box);
      // Digital silence is -inf in session.json; JSON output has numbers only, and no number for it.
      expect(readManifestSync(dir)).toMatchObject({ capture: { last_level_db: '-inf' } });
      expect(JSON.parse(status.stdout).active.capture.last_level_db).toBeNull();
      expect(await exitOf(child)).toMatchObject({ code: 0 });
      const log = readSessionLog(dir);
      const alarms = log.filter((l) => l.message === 'input_silent');
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.level).toBe('WARNING');
      expect(Number(alarms[0]!.fields.silent_s)).toBeGreaterThanOrEqual(2);
      expect(log.filter((l) => l.message === 'input_sound_returned')).toHaveLength(1);
      expect(child.output().stderr.match(/input is silent: muted microphone or wrong device\?/g)).toHaveLength(1);
      const last = readManifestSync(dir) as unknown as { capture: { last_level_db: string } };
      expect(Number(last.capture.last_level_db)).toBeGreaterThan(-10);
    },
  );

  it.concurrent('anullsrc: one alarm for the whole silent stretch; under the default 15 s, none', async () => {
    const box = sandbox();
    const anullsrc = ['--input-format', 'lavfi', '--input', 'anullsrc=r=16000:cl=mono', '--segment-time', '1', '--no-realtime'];
    const alarmed = await runCli(
      ['record', ...anullsrc, '--duration', '6', ...recordingConfig(box, { silence_alarm: 2 }), '--session-id', 'null'],
      box,
    );
    expect(alarmed.code, alarmed.stderr).toBe(0);
    expect(alarmed.stderr.match(/input is silent: muted microphone or wrong device\?/g)).toHaveLength(1);
    expect(logged(path.join(box.recordings, 'null'), 'input_silent')).toHaveLength(1);
    const short = await runCli(['record', ...anullsrc, '--duration', '3', '--session-id', 'short'], box);
    expect(short.code, short.stderr).toBe(0);
    expect(short.stderr).not.toContain('input is silent');
    expect(logged(path.join(box.recordings, 'short'), 'input_silent')).toEqual([]);
  });
  it.concurrent('at full speed the alarm counts the audio there is: 14 s of silence is not 15, 16 s is', async () => {
    // 10 s chunks: 5 s level windows, the last one partial, and ffmpeg reads past -t.
    const silent = async (seconds: number) => {
      const box = sandbox(); // one recording at a time per recordings folder
      const anullsrc = ['--input-format', 'lavfi', '--input', 'anullsrc=r=16000:cl=mono', '--segment-time', '10', '--no-realtime'];
      const run = await runCli(['record', ...anullsrc, '--duration', String(seconds), '--session-id', 'silent'], box);
      expect(run.code, run.stderr).toBe(0);
      return { stderr: run.stderr, alarms: logged(path.join(box.recordings, 'silent'), 'input_silent') };
    };
    const [short, long] = await Promise.all([silent(14), silent(16)]);
    expect(short.stderr).not.toContain('input is silent');
    expect(short.alarms).toEqual([]);
    expect(long.alarms).toHaveLength(1);
    expect(long.alarms[0]!.fields.silent_s).toBe('15');
  });
});

describe.skipIf(!hasPulse)('a real PulseAudio server', () => {
  it.concurrent('killed and restarted mid-session: the session keeps going, the gap is logged as device_lost', async () => {
    const box = sandbox();
    let server = await startPulse(box);
    // No --input: the default device, which is PulseAudio when its server is up.
    const child = startCli(
      ['record', '--segment-time', '1', ...recordingConfig(box, { reconnect_timeout: 30, silence_alarm: 0 }), '--session-id', 'pulse'],
      box,
    );
    const dir = path.join(box.recordings, 'pulse');
    await waitFor(() => segmentRows(dir) >= 2, 20_000, '2 chunks');
    await killPulse(server);
    await waitFor(() => logged(dir, 'ffmpeg_run_ended').some((l) => l.fields.outcome === 'device_lost'), 15_000, 'the lost device');
    server = await startPulse(box);
    await waitFor(
      () => {
        const log = readSessionLog(dir);
        const restarted = log.findLastIndex((l) => l.message === 'capture_restart');
        return restarted >= 0 && log.slice(restarted).some((l) => l.message === 'chunk_created');
      },
      30_000,
      'a chunk after the server came back',
    );
    child.kill('SIGINT');
    const exit = await exitOf(child);
    expect(exit.code, child.output().stderr).toBe(130);
    const log = readSessionLog(dir);
    expect(log[0]!.fields.input_format).toBe('pulse');
    expectStopLast(log, 'user_interrupt');
    const restarts = log.filter((l) => l.message === 'capture_restart');
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    expect(restarts.every((r) => r.fields.reason === 'device_lost')).toBe(true);
    expect(Number(restarts.at(-1)!.fields.gap_ms)).toBeGreaterThan(0);
    expectChunksFinalAndLogged(dir, log);
  });

  it.concurrent('killed for good: reason=device_lost after recording.reconnect_timeout, exit 1, stderr says so', async () => {
    const box = sandbox();
    const server = await startPulse(box);
    const child = startCli(
      ['record', '--segment-time', '1', ...recordingConfig(box, { reconnect_timeout: 3, silence_alarm: 0 }), '--session-id', 'gone'],
      box,
    );
    const dir = path.join(box.recordings, 'gone');
    await waitFor(() => segmentRows(dir) >= 1, 20_000, 'the first chunk');
    await killPulse(server);
    const exit = await exitOf(child);
    const { stderr } = child.output();
    expect(exit.code, stderr).toBe(1);
    expect(stderr).toMatch(/recording stopped: the capture device pulse default went away and did not come back within \d+ s/);
    const log = readSessionLog(dir);
    const stop = expectStopLast(log, 'device_lost');
    expect(stop.fields.exit_code).toBe('1');
    expect(log.some((l) => l.message === 'session_stop' && l.fields.reason === 'end_of_input')).toBe(false);
    expect(readManifestSync(dir)).toMatchObject({ status: 'error', stop_reason: 'device_lost' });
  });
});

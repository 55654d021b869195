import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { expectChunksFinalAndLogged, expectStopLast } from './helpers/chunks.js';
import { readSessionLog, runCli, sandboxPool } from './helpers/cli.js';
import { hasPulse, killAllPulse, startPlayer, startPulse } from './helpers/pulse.js';
import { parseWavHeader, wavDurationSeconds } from '../src/recorder/wav-header.js';

/**
 * A real (private) PulseAudio server with a null sink and a player on it: a healthy capture with
 * --duration ends as duration_reached, once, without a restart, although the samples PulseAudio
 * delivers fall short of ffmpeg's timestamps (ffmpeg's own `progress=end` report decides).
 */
const pool = sandboxPool();
afterAll(() => {
  killAllPulse();
  pool.cleanup();
});

const SECONDS = 6;

describe.skipIf(!hasPulse)('--duration from a PulseAudio source', () => {
  it('several runs: each ends duration_reached, exit 0, no restart, no WARNING from capture; audio as bare ffmpeg gives', async () => {
    const box = pool.sandbox();
    await startPulse(box);
    await startPlayer(box);
    const bare = path.join(box.root, 'bare.wav');
    // Three runs side by side, each into its own recordings dir (one recording per dir at a time):
    // three captures from the same source, each judged alone, in the time of one. Bare ffmpeg with the same -t
    // on the same server runs beside them, under the same load: what the device delivers for it.
    const bareRun = promisify(execFile)(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'pulse',
        '-i',
        'null.monitor',
        '-t',
        String(SECONDS),
        '-ac',
        '1',
        '-ar',
        '16000',
        '-y',
        bare,
      ],
      { env: box.env },
    );
    const runs = await Promise.all(
      [1, 2, 3].map(async (run) => {
        const recordings = path.join(box.root, `recordings-${run}`);
        const id = `pulse-${run}`;
        const result = await runCli(
          [
            'record',
            '--input-format',
            'pulse',
            '--input',
            'null.monitor',
            '--duration',
            String(SECONDS),
            '--segment-time',
            '3',
            '--session-id',
            id,
            '--recordings-dir',
            recordings,
          ],
          box,
        );
        return { result, dir: path.join(recordings, id) };
      }),
    );
    await bareRun;
    const bareSeconds = wavDurationSeconds(parseWavHeader(fs.readFileSync(bare)));
    for (const { result, dir } of runs) {
      expect(result.code, result.stderr).toBe(0);
      const log = readSessionLog(dir);
      const stop = expectStopLast(log, 'duration_reached');
      expect(
        log.filter((l) => ['capture_restart', 'ffmpeg_run_ended', 'ffmpeg_started'].includes(l.message)).map((l) => l.message),
      ).toEqual(['ffmpeg_started']);
      // Not even clock_drift: the ~2 s PulseAudio takes to deliver its first samples is start-up, not drift.
      expect(log.filter((l) => l.level === 'WARNING' || l.level === 'ERROR')).toEqual([]);
      expectChunksFinalAndLogged(dir, log);
      // The samples may be fewer than -t: PulseAudio delivers late, and how late varies per capture (quiet machine:
      // bare 5.50 s, echolog 5.64–5.83 s; loaded, in two failed runs: bare 5.90 and 5.93 s, echolog 5.40 and 5.36 s).
      // Each side moves by ~0.3 s, so a margin of 1 s tells that spread from a lost chunk (3 s) or window.
      expect(Number(stop.fields.audio_duration_s)).toBeGreaterThan(bareSeconds - 1);
      expect(Number(stop.fields.audio_duration_s)).toBeLessThanOrEqual(SECONDS + 0.01);
      // Generous: the machine is shared; bench/README.md has the measured wall times.
      expect(Number(stop.fields.elapsed_s)).toBeLessThan(SECONDS + 8);
    }
  });
});

describe.skipIf(!hasPulse)('a bare --input naming a PulseAudio source', () => {
  it('no such file, but a source `devices` lists: recorded from that source, and said so; an unknown name still fails as no such file', async () => {
    const box = pool.sandbox();
    await startPulse(box);
    const result = await runCli(
      ['record', '--input', 'null.monitor', '--duration', '1', '--segment-time', '1', '--session-id', 'bare-name'],
      box,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      'echolog: --input null.monitor: no such file, but a pulse capture device of that name: recording from it (--input-format pulse)',
    );
    expect(readSessionLog(path.join(box.recordings, 'bare-name'))[0]!.fields).toMatchObject({
      input_format: 'pulse',
      device: 'null.monitor',
    });
    const unknown = await runCli(['record', '--input', 'nosuch.monitor', '--duration', '1', '--session-id', 'unknown-name'], box);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--input nosuch.monitor: no such file');
  });
});

describe.skipIf(!hasPulse)('a PulseAudio server started without XDG_RUNTIME_DIR', () => {
  it('doctor, devices and record find it where libpulse does (~/.config/pulse/<machine-id>-runtime → /tmp/pulse-…) and print the real path', async () => {
    const box = pool.sandbox();
    delete box.env.XDG_RUNTIME_DIR;
    await startPulse(box);
    const link = fs.readdirSync(path.join(box.home, '.config', 'pulse')).find((name) => name.endsWith('-runtime'))!;
    const socket = fs.realpathSync(path.join(box.home, '.config', 'pulse', link, 'native'));
    expect(socket).toMatch(/^\/tmp\/pulse-[^/]+\/native$/);
    try {
      const doctor = await runCli(['doctor'], box);
      expect(doctor.stdout).toContain(`ok    audio server: PulseAudio is running (${socket})`);
      expect(doctor.stdout).not.toContain('$XDG_RUNTIME_DIR');
      const devices = await runCli(['devices'], box);
      expect(devices.code, devices.stderr).toBe(0);
      expect(devices.stdout).toMatch(/^pulse:\n\* null\.monitor/m);
      // No --input: the default device is PulseAudio's, as ffmpeg's libpulse finds it too.
      const record = await runCli(['record', '--duration', '1', '--segment-time', '1', '--session-id', 'no-xdg'], box);
      expect(record.code, record.stderr).toBe(0);
      expect(record.stderr).not.toContain('PulseAudio is not running');
      const log = readSessionLog(path.join(box.recordings, 'no-xdg'));
      expect(log[0]!.fields.input_format).toBe('pulse');
      expectStopLast(log, 'duration_reached');
    } finally {
      killAllPulse();
      fs.rmSync(path.dirname(socket), { recursive: true, force: true });
    }
  });

  it('without any server, the message names the real paths looked at, never a variable name', async () => {
    const box = pool.sandbox();
    delete box.env.XDG_RUNTIME_DIR;
    const doctor = await runCli(['doctor'], box);
    expect(doctor.stdout).toMatch(
      new RegExp(
        `audio server: PulseAudio is not running \\(no server at ${box.home}/\\.config/pulse/[^ ]+-runtime/native or /run/pulse/native\\)`,
      ),
    );
    expect(doctor.stdout).not.toContain('$XDG_RUNTIME_DIR');
  });
});

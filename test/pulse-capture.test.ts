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
    // Bare ffmpeg with the same -t on the same server: what the device delivers for it.
    await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'pulse', '-i', 'null.monitor', '-t', String(SECONDS), '-ac', '1', '-ar', '16000', '-y', bare], { env: box.env });
    const bareSeconds = wavDurationSeconds(parseWavHeader(fs.readFileSync(bare)));
    for (const run of [1, 2, 3]) {
      const id = `pulse-${run}`;
      const result = await runCli(['record', '--input-format', 'pulse', '--input', 'null.monitor', '--duration', String(SECONDS), '--segment-time', '3', '--session-id', id], box);
      expect(result.code, result.stderr).toBe(0);
      const dir = path.join(box.recordings, id);
      const log = readSessionLog(dir);
      const stop = expectStopLast(log, 'duration_reached');
      expect(log.filter((l) => ['capture_restart', 'ffmpeg_run_ended', 'ffmpeg_started'].includes(l.message)).map((l) => l.message)).toEqual(['ffmpeg_started']);
      expect(log.filter((l) => l.level === 'WARNING' || l.level === 'ERROR').filter((l) => l.message !== 'clock_drift')).toEqual([]);
      expectChunksFinalAndLogged(dir, log);
      // The samples may be fewer than -t (PulseAudio delivers late), but no fewer than ffmpeg alone gets.
      expect(Number(stop.fields.audio_duration_s)).toBeGreaterThan(bareSeconds - 0.5);
      expect(Number(stop.fields.audio_duration_s)).toBeLessThanOrEqual(SECONDS + 0.01);
      // Generous: the machine is shared; bench/README.md has the measured wall times.
      expect(Number(stop.fields.elapsed_s)).toBeLessThan(SECONDS + 8);
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcmWavHeader } from '../src/recorder/wav-header.js';
import { isAlive, processesMatching } from './helpers/chunks.js';
import { makeSandbox, runCli, waitFor } from './helpers/cli.js';
import { killDaemons, readJsonFile, seedPaths, startDaemon } from './helpers/daemon.js';

/**
 * A request whose audio is a real multi-GiB WAV (sparse: `truncate` after a real header, so it
 * costs no disk): the daemon streams it to pocketsphinx in bounded pieces, its memory stays flat,
 * and `daemon stop` mid-request ends it within 5 s with an error response for that request.
 * Slow-ish but bounded: each case streams for a few seconds, then stops the daemon.
 */
const box = makeSandbox();
afterAll(async () => {
  await killDaemons(box.root);
  box.cleanup();
});

const GIB = 1024 ** 3;
/** The daemon's RSS bound while it serves any request (issue 16). */
const RSS_BOUND_KB = 200 * 1024;

/** A WAV header as a streaming writer leaves it (sizes unknown: 0xFFFFFFFF), then a sparse file of `bytes`. */
function sparseWav(file: string, bytes: number, sampleRate: number, channels: number): string {
  const header = pcmWavHeader(sampleRate, channels, 0);
  header.writeUInt32LE(0xffffffff, 4);
  header.writeUInt32LE(0xffffffff, 40);
  fs.writeFileSync(file, header);
  fs.truncateSync(file, bytes);
  return file;
}

/** The peak resident set of a process, from /proc/<pid>/status (VmHWM, kB). */
function peakRssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
}

describe('the daemon and a multi-GiB request', () => {
  const root = path.join(box.root, 'run', 'echolog');
  const files = seedPaths(root);

  for (const [name, rate, channels, how] of [
    ['16 kHz mono (read as it is)', 16000, 1, 'file'],
    ['44.1 kHz stereo (decoded by ffmpeg)', 44100, 2, 'ffmpeg'],
  ] as const) {
    it(`5 GiB of ${name}: streamed with RSS under 200 MB; daemon stop mid-request ends it within 5 s and answers the request with an error`, async () => {
      const wav = sparseWav(path.join(box.root, `big-${how}.wav`), 5 * GIB, rate, channels);
      const started = await startDaemon(box, undefined, ['--timeout', '120']);
      expect(started.code).toBe(0);
      const pid = started.pid;
      const id = `9${how === 'file' ? 1 : 2}00000000000000000`;
      fs.writeFileSync(path.join(files.requests, `${id}.json`), JSON.stringify({ id, audio_file: wav, timestamp: Date.now() / 1000 }));
      await waitFor(() => readJsonFile(files.status).processing === true || undefined, 15_000, 'the daemon to take the request');
      // Seconds of streaming: at pocketsphinx's pace that is hundreds of MB read, far less than the file.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(readJsonFile(files.status).processing).toBe(true);
      // ffmpeg reads the daemon's open descriptor of the request's file (/proc/<daemon pid>/fd/<n>), not its path.
      if (how === 'ffmpeg') expect(decodersOf(pid, wav)).toHaveLength(1);
      const rss = peakRssKb(pid);
      expect(rss).toBeLessThan(RSS_BOUND_KB);

      const t0 = Date.now();
      const stop = await runCli(['daemon', 'stop'], box);
      const stopMs = Date.now() - t0;
      expect(stop.stdout).toBe(`session daemon stopped (pid ${pid})\n`);
      expect(isAlive(pid)).toBe(false);
      expect(stopMs).toBeLessThan(5000);
      const response = readJsonFile(path.join(files.responses, `${id}.json`));
      expect(response).toMatchObject({
        id,
        results: [],
        error: expect.stringMatching(/daemon is stopping \(SIG(TERM|INT)\) before this request was finished; send it again/),
      });
      expect(processesMatching('ffmpeg', `/proc/${pid}/fd/`)).toEqual([]);
      expect(fs.existsSync(files.marker)).toBe(false);
      console.log(`daemon ${name}: VmHWM ${Math.round(rss / 1024)} MB after 3 s of a 5 GiB request; daemon stop took ${stopMs} ms`);
    }, 60_000);
  }
});

/** The ffmpeg processes decoding `file` through the daemon `pid`'s open descriptor of it. */
function decodersOf(pid: number, file: string): number[] {
  return processesMatching('ffmpeg', `/proc/${pid}/fd/`).filter((decoder) =>
    fs
      .readFileSync(`/proc/${decoder}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => arg.startsWith(`/proc/${pid}/fd/`) && fs.readlinkSync(arg) === file),
  );
}

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chunkFiles,
  expectChunksFinalAndLogged,
  expectFinalWav,
  expectStopLast,
  isAlive,
  readManifestSync,
  segmentRows,
} from './helpers/chunks.js';
import { exitOf, readSessionLog, runCli, sandboxPool, SINE, startCli, waitFor, type Sandbox } from './helpers/cli.js';

const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const pool = sandboxPool();
const sandbox = pool.sandbox;
afterAll(pool.cleanup);

/** Starts a live-paced recording and waits until `rows` chunks are final and ffmpeg's pid is known. */
async function startRecording(box: Sandbox, id: string, rows = 1) {
  const child = startCli(['record', ...LAVFI, '--segment-time', '1', '--session-id', id], box);
  const dir = path.join(box.recordings, id);
  await waitFor(() => segmentRows(dir) >= rows, 20_000, `${rows} chunk(s)`);
  const ffmpegPid = await waitFor(() => readManifestSync(dir)?.ffmpeg_pid ?? undefined, 5_000, 'ffmpeg_pid in session.json');
  return { child, dir, ffmpegPid };
}

describe('faults', () => {
  it.concurrent(
    'a bad lavfi graph (ffmpeg fails at start) → reason ffmpeg_exit, stderr tail in the log and on stderr, exit 1',
    async () => {
      const box = sandbox();
      const result = await runCli(
        ['record', '--input-format', 'lavfi', '--input', 'nosuchsource=frequency=440', '--duration', '2', '--session-id', 'bad'],
        box,
      );
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/ffmpeg exited with code [1-9]/);
      expect(result.stderr).toMatch(/nosuchsource/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      const log = readSessionLog(path.join(box.recordings, 'bad'));
      const stop = expectStopLast(log, 'ffmpeg_exit');
      expect(Number(stop.fields.code)).toBeGreaterThan(0);
      expect(stop.fields.stderr_tail).toMatch(/nosuchsource/);
      expect(log.some((l) => l.message === 'ffmpeg_stderr' && l.level === 'ERROR')).toBe(true);
      expect(log.filter((l) => l.message === 'chunk_created')).toEqual([]);
    },
  );

  describe('echolog SIGKILLed while recording', () => {
    it.concurrent.each([
      ['status', ['status']],
      ['the next record', ['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'next']],
    ])('the watchdog stops the orphaned ffmpeg; %s recovers the session', async (_who, command) => {
      const box = sandbox();
      const { child, dir, ffmpegPid } = await startRecording(box, 'orphan', 1);
      child.kill('SIGKILL');
      await exitOf(child);
      // The watchdog SIGINTs ffmpeg, which finalizes the open chunk and exits.
      await waitFor(() => !isAlive(ffmpegPid), 5_000, `ffmpeg pid ${ffmpegPid} to be gone`);
      const files = chunkFiles(dir);
      for (const file of files) expectFinalWav(path.join(dir, file));
      const loggedBefore = readSessionLog(dir).filter((l) => l.message === 'chunk_created').length;
      expect(segmentRows(dir)).toBe(files.length);
      expect(loggedBefore).toBeLessThan(files.length); // at least the last chunk was never logged

      const result = await runCli(command, box);
      expect(result.code, result.stderr).toBe(0);
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      expect(created.slice(loggedBefore).every((c) => c.fields.recovered === 'true')).toBe(true);
      expect(created.slice(0, loggedBefore).some((c) => c.fields.recovered === 'true')).toBe(false);
      const stop = expectStopLast(log, 'interrupted');
      expect(Number(stop.fields.recovered_chunks)).toBe(files.length - loggedBefore);
      expect(readManifestSync(dir)).toMatchObject({ status: 'interrupted', stop_reason: 'interrupted' });
      expect(fs.existsSync(path.join(box.recordings, '.active-session.json'))).toBe(false);
      if (command[0] === 'status') expect(result.stdout).toContain('last session: orphan (interrupted)');
      else expectStopLast(readSessionLog(path.join(box.recordings, 'next')), 'duration_reached');
    });

    it.concurrent(
      "status right after the kill, while ffmpeg may still be running, waits for it and recovers every chunk, at the session's own log level",
      async () => {
        const box = sandbox();
        const { child, dir, ffmpegPid } = await startRecording(box, 'orphan', 1);
        child.kill('SIGKILL');
        await exitOf(child);
        const before = readSessionLog(dir).filter((l) => l.message === 'chunk_created').length;
        // The session recorded at info; a config at error now must not drop the chunk_created lines recovery owes.
        const result = await runCli(['status'], box, { ECHOLOG_LOG_LEVEL: 'error' });
        expect(result.code, result.stderr).toBe(0);
        expect(isAlive(ffmpegPid)).toBe(false);
        expect(result.stdout).toContain('last session: orphan (interrupted)');
        const log = readSessionLog(dir);
        const created = expectChunksFinalAndLogged(dir, log);
        expect(created.length).toBeGreaterThan(before);
        expect(created.slice(before).every((c) => c.fields.recovered === 'true')).toBe(true);
        expectStopLast(log, 'interrupted');
      },
    );
  });

  it.concurrent(
    'killed between a chunk_created line and the session.json write: recovery counts that chunk, never logs it twice',
    async () => {
      const box = sandbox();
      expect(
        (await runCli(['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--session-id', 'torn'], box)).code,
      ).toBe(0);
      const dir = path.join(box.recordings, 'torn');
      // The state such a kill leaves: every chunk logged, session.json still counting none, no session_stop.
      const deadPid = spawnSync('true').pid;
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown> & {
        stats: { chunks: number; audio_duration_seconds: number };
      };
      fs.writeFileSync(
        path.join(dir, 'session.json'),
        JSON.stringify({
          ...manifest,
          status: 'recording',
          pid: deadPid,
          ffmpeg_pid: null,
          stop_reason: null,
          ended_at: null,
          stats: { ...manifest.stats, chunks: 0, audio_duration_seconds: 0 },
        }),
      );
      const logText = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
      fs.writeFileSync(
        path.join(dir, 'session.log'),
        logText
          .split('\n')
          .filter((line) => !line.includes(' session_stop '))
          .join('\n'),
      );
      fs.writeFileSync(path.join(box.recordings, '.active-session.json'), JSON.stringify({ session_id: 'torn', pid: deadPid }));

      const result = await runCli(['status'], box);
      expect(result.code, result.stderr).toBe(0);
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      expect(created.some((c) => c.fields.recovered === 'true')).toBe(false);
      expect(expectStopLast(log, 'interrupted').fields.recovered_chunks).toBe('0');
      expect(readManifestSync(dir)?.stats.chunks).toBe(created.length);
    },
  );

  describe('the stop ladder, with a stubborn ffmpeg', () => {
    // A fault the real ffmpeg cannot produce on demand: an ffmpeg that ignores `q` and SIGINT.
    // A fake executable given as ECHOLOG_FFMPEG; only SIGTERM (the next rung) ends it.
    function stubbornFfmpeg(box: Sandbox, stopTimeout: number) {
      const fake = path.join(box.root, 'stubborn-ffmpeg');
      fs.writeFileSync(fake, `#!/bin/sh\ntrap '' INT\necho "stubborn ffmpeg $$ ignores q and SIGINT" >&2\nwhile :; do sleep 0.1; done\n`, {
        mode: 0o755,
      });
      const config = path.join(box.root, 'echolog.conf');
      fs.writeFileSync(config, `ffmpeg:\n  stop_timeout: ${stopTimeout}\n`);
      return { env: { ECHOLOG_FFMPEG: fake }, args: ['--config', config] };
    }

    it.concurrent.each([
      ['one Ctrl-C walks q → SIGINT → SIGTERM after the step timeout', 0.5, 1],
      ['repeated Ctrl-C skips the waits', 30, 3],
    ])('%s; echolog waits for ffmpeg to be gone, session_stop last', async (_name, stopTimeout, presses) => {
      const box = sandbox();
      const fake = stubbornFfmpeg(box, stopTimeout);
      const child = startCli(['record', ...LAVFI, '--session-id', 'stubborn', ...fake.args], box, fake.env);
      const dir = path.join(box.recordings, 'stubborn');
      const ffmpegPid = await waitFor(() => readManifestSync(dir)?.ffmpeg_pid ?? undefined, 20_000, 'ffmpeg_pid in session.json');
      await waitFor(() => fs.readFileSync(path.join(dir, 'session.log'), 'utf8').includes('ffmpeg_started'), 5_000, 'ffmpeg_started');
      const started = Date.now();
      for (let i = 0; i < presses; i++) {
        child.kill('SIGINT');
        await new Promise((r) => setTimeout(r, 150));
      }
      const exit = await exitOf(child);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(exit.code, child.output().stderr).toBe(130);
      expect(isAlive(ffmpegPid)).toBe(false);
      const log = readSessionLog(dir);
      expect(log.find((l) => l.message === 'ffmpeg_exited')?.fields.signal).toBe('SIGTERM');
      expectStopLast(log, 'user_interrupt');
    });
  });
});

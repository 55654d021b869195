import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectStopLast, readManifestSync } from './helpers/chunks.js';
import { execFileAsync, readSessionLog, runCli, sandboxPool, type Sandbox } from './helpers/cli.js';

/**
 * What no retry can fix fails at once (issue 17 §2): the real ffmpeg on inputs that can never be
 * recorded ends within 3 s, exit 1, with ffmpeg's own reason and a hint on stderr, and no
 * capture_restart. The session folder stays (its log is the evidence) and `sessions list` shows it
 * as `error` with 0 chunks. And a file that ends early with decode errors is not a normal end.
 */
const pool = sandboxPool();
afterAll(() => pool.cleanup());

async function failFast(box: Sandbox, id: string, args: string[]) {
  const started = Date.now();
  const result = await runCli(['record', ...args, '--session-id', id], box);
  const seconds = (Date.now() - started) / 1000;
  expect(result.code, result.stderr).toBe(1);
  // Generous for a loaded machine: a retrying capture took 7–9 s here.
  expect(seconds).toBeLessThan(3);
  expect(result.stderr).toMatch(/\nhint: .*echolog (?:doctor|devices)|\nhint: .*ffprobe/);
  const dir = path.join(box.recordings, id);
  const log = readSessionLog(dir);
  expect(log.filter((l) => l.message === 'capture_restart')).toEqual([]);
  expect(log.filter((l) => l.message === 'ffmpeg_started')).toHaveLength(1);
  const stop = expectStopLast(log, 'ffmpeg_exit');
  expect(stop.fields).toMatchObject({ restarts: '0', exit_code: '1' });
  expect(stop.level).toBe('ERROR');
  expect(readManifestSync(dir)).toMatchObject({ status: 'error', stop_reason: 'ffmpeg_exit', stats: { chunks: 0 } });
  return { result, stop };
}

describe('fail fast', () => {
  it.concurrent('an unknown lavfi filter', async () => {
    const box = pool.sandbox();
    const { result, stop } = await failFast(box, 'sinee', ['--input-format', 'lavfi', '--input', 'sinee']);
    expect(result.stderr).toContain("No such filter: 'sinee'");
    expect(stop.fields.hint).toMatch(/ffmpeg -filters/);
  });

  it.concurrent('a file that is not audio: random bytes, and text (which ffmpeg reads as ANSI art video)', async () => {
    const box = pool.sandbox();
    const junk = path.join(box.root, 'junk.wav');
    fs.writeFileSync(junk, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 251)));
    const { result } = await failFast(box, 'junk', ['--input', junk]);
    expect(result.stderr).toContain('Invalid data found when processing input');
    expect(result.stderr).toContain('ffprobe');
    const notes = path.join(box.root, 'notes.txt');
    fs.writeFileSync(notes, 'shopping list\n'.repeat(200));
    const text = await failFast(box, 'text', ['--input', notes]);
    expect(text.result.stderr).toContain('Output file #0 does not contain any stream');
  });

  it.concurrent('a directory as --input', async () => {
    const box = pool.sandbox();
    const { result } = await failFast(box, 'folder', ['--input', box.root]);
    expect(result.stderr).toContain(`${box.root}: Is a directory`);
  });

  it.concurrent('an ALSA device that does not exist', async () => {
    const box = pool.sandbox();
    const { result } = await failFast(box, 'alsa', ['--input-format', 'alsa', '--input', 'hw:9']);
    expect(result.stderr).toMatch(/cannot open audio device hw:9 \(No such file or directory\)/);
    expect(result.stderr).toContain('`echolog devices` lists the alsa capture devices');
  });

  it.concurrent('the failed start keeps its folder; sessions list shows it as error with 0 chunks', async () => {
    const box = pool.sandbox();
    await failFast(box, 'listed', ['--input-format', 'lavfi', '--input', 'sinee']);
    const list = await runCli(['sessions', 'list'], box);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^listed\s+error\s+\S+ \S+\s+00:00:00\s+0\s/m);
  });
});

describe('--log-level warning still says why a session failed', () => {
  it.concurrent("session_stop reason=ffmpeg_exit is an ERROR line with ffmpeg's reason; a normal end stays INFO", async () => {
    const box = pool.sandbox();
    const failed = await runCli(
      ['record', '--input-format', 'lavfi', '--input', 'sinee', '--log-level', 'warning', '--session-id', 'quiet-fail'],
      box,
    );
    expect(failed.code).toBe(1);
    const stop = expectStopLast(readSessionLog(path.join(box.recordings, 'quiet-fail')), 'ffmpeg_exit');
    expect(stop.level).toBe('ERROR');
    expect(stop.fields.stderr_tail).toContain("No such filter: 'sinee'");
    const ok = await runCli(
      ['record', '--input-format', 'lavfi', '--input', 'sine', '--duration', '1', '--log-level', 'warning', '--session-id', 'quiet-ok'],
      box,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(expectStopLast(readSessionLog(path.join(box.recordings, 'quiet-ok')), 'duration_reached').level).toBe('INFO');
  });
});

describe('a damaged input', () => {
  it.concurrent('an MP3 that turns to garbage at 40 %: input_damaged, exit 1, the chunks before it kept, no restart', async () => {
    const box = pool.sandbox();
    const good = path.join(box.root, 'good.mp3');
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:duration=30',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '64k',
      good,
    ]);
    // Its first 40 %, then noise where the rest was: ffmpeg declares 30 s, decodes 12 s, then complains and stops.
    const bytes = fs.readFileSync(good);
    const head = bytes.subarray(0, Math.floor(bytes.length * 0.4));
    let seed = 2;
    const noise = Buffer.from(
      Array.from({ length: Math.floor(bytes.length * 0.3) }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff),
    );
    const bad = path.join(box.root, 'bad.mp3');
    fs.writeFileSync(bad, Buffer.concat([head, noise]));
    const result = await runCli(['record', '--input', bad, '--no-realtime', '--segment-time', '5', '--session-id', 'damaged'], box);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/recording stopped: the input ended early, at \d+\.\d s of 30\.0 s, with errors/);
    const log = readSessionLog(path.join(box.recordings, 'damaged'));
    expect(log.filter((l) => l.message === 'capture_restart')).toEqual([]);
    const stop = expectStopLast(log, 'input_damaged');
    expect(stop.level).toBe('ERROR');
    expect(Number(stop.fields.audio_duration_s)).toBeGreaterThan(5);
    expect(Number(stop.fields.audio_duration_s)).toBeLessThan(25);
    expect(stop.fields.stderr_tail).toMatch(/Error while decoding|Header missing/);
  });
});

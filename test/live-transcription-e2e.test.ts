import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWavHeader, wavDurationSeconds } from '../src/recorder/wav-header.js';
import { expectChunksFinalAndLogged, expectStopLast, readManifestSync, segmentRows } from './helpers/chunks.js';
import { execFileAsync, exitOf, exitWithin, makeSandbox, makeSpeech, readSessionLog, runCli, startCli, waitFor } from './helpers/cli.js';
import { runInPty } from './helpers/pty.js';

/**
 * The live transcript (issue 10), end to end with the real ffmpeg and pocketsphinx on flite
 * speech played at real time: words appear soon after the speaker pauses wherever the sentence
 * falls among the chunks, a frozen decoder costs recording nothing, and a tone cannot stall the
 * transcript. The bound asserted here is loose (a loaded machine); bench/live-latency.mjs has the figures.
 */
const SLOW = 120_000;
/** Issue 10's bound is 2.5 s; a test on a machine shared with other suites allows twice that. */
const LATENCY_BOUND_MS = 5000;

const boxes: Array<ReturnType<typeof makeSandbox>> = [];
function sandbox(): ReturnType<typeof makeSandbox> {
  const box = makeSandbox();
  box.env.ECHOLOG_ENGINE = 'pocketsphinx';
  boxes.push(box);
  return box;
}
afterAll(() => boxes.forEach((b) => b.cleanup()));

interface Placed {
  text: string;
  /** A word of it that pocketsphinx gets right. */
  key: string;
  start: number;
}

let speechBox: ReturnType<typeof makeSandbox>;
const clips = new Map<string, { file: string; seconds: number }>();
beforeAll(async () => {
  speechBox = makeSandbox();
  boxes.push(speechBox);
  const texts = ['we are going to talk about the weather today', 'please remember to bring water'];
  for (const [i, text] of texts.entries()) {
    const file = await makeSpeech(text, path.join(speechBox.root, `s${i}.wav`));
    clips.set(text, { file, seconds: wavDurationSeconds(parseWavHeader(fs.readFileSync(file))) });
  }
});

/** The sentences at exact places (adelay) in silence, `total` seconds long, 16 kHz mono. */
async function placeSpeech(out: string, placed: Placed[], total: number): Promise<string> {
  const inputs = placed.flatMap((p) => ['-i', clips.get(p.text)!.file]);
  const delayed = placed.map((p, i) => `[${i}]adelay=${Math.round(p.start * 1000)}[d${i}]`);
  const mix = `${placed.map((_, i) => `[d${i}]`).join('')}amix=inputs=${placed.length}:normalize=0,apad=whole_dur=${total}`;
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    [...delayed, mix].join(';'),
    '-t',
    String(total),
    '-ar',
    '16000',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  return out;
}

function endOf(p: Placed): number {
  return p.start + clips.get(p.text)!.seconds;
}

function writeConfig(box: ReturnType<typeof makeSandbox>, drainTimeout = 30): string {
  const file = path.join(box.root, 'echolog.conf');
  fs.writeFileSync(file, `transcription:\n  ready_timeout: 30\n  drain_timeout: ${drainTimeout}\n`);
  return file;
}

function sessionDirOf(box: ReturnType<typeof makeSandbox>): string | undefined {
  if (!fs.existsSync(box.recordings)) return undefined;
  const dirs = fs.readdirSync(box.recordings, { withFileTypes: true }).filter((e) => e.isDirectory());
  return dirs.length === 1 ? path.join(box.recordings, dirs[0]!.name) : undefined;
}

interface JsonlLine {
  seq: number;
  seqs?: number[];
  start: number;
  end: number;
  text: string;
  latency_ms: number;
  chunk?: string;
}

function readJsonl(dir: string): JsonlLine[] {
  const file = path.join(dir, 'transcript.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as JsonlLine];
      } catch {
        return []; // being appended
      }
    });
}

/** The decoder echolog started (a child of the echolog process: the CLI or the stream decoder), once it has loaded and opened its audio FIFO. */
function readingDecoderPid(echologPid: number): number | undefined {
  try {
    // -f: the name in /proc is cut to 15 characters.
    const pid = Number(
      execFileSync('pgrep', ['-P', String(echologPid), '-f', 'pocketsphinx'], { encoding: 'utf8' })
        .trim()
        .split('\n')[0],
    );
    const fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    return fds.some((target) => target.endsWith('audio.raw')) ? pid : undefined;
  } catch {
    return undefined;
  }
}

describe('live transcript with pocketsphinx, 10 s chunks at real time', () => {
  it.concurrent(
    'a sentence ending just before a chunk boundary then silence, and one spanning a boundary: each on screen and in transcript.jsonl within the bound',
    async () => {
      const box = sandbox();
      const placed: Placed[] = [
        // Ends ~0.3 s before the first boundary (10 s), then 9 s of silence: the issue's 21 s case.
        { text: 'we are going to talk about the weather today', key: 'weather', start: 0 },
        { text: 'please remember to bring water', key: 'water', start: 19.2 },
      ];
      placed[0]!.start = 9.7 - clips.get(placed[0]!.text)!.seconds;
      const input = await placeSpeech(path.join(box.home, 'in.wav'), placed, 24);
      const child = startCli(['record', '--config', writeConfig(box), '--input', input, '--segment-time', '10'], box);
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      const seenOnScreen = new Map<string, number>();
      const seenInFile = new Map<string, number>();
      while (child.exitCode === null && child.signalCode === null) {
        const now = Date.now();
        const screen = child.output().stdout;
        const file = readJsonl(dir)
          .map((l) => l.text)
          .join(' ');
        for (const p of placed) {
          if (!seenOnScreen.has(p.key) && screen.includes(p.key)) seenOnScreen.set(p.key, now);
          if (!seenInFile.has(p.key) && file.includes(p.key)) seenInFile.set(p.key, now);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const exit = await exitOf(child);
      expect(child.output().stderr).toBe('');
      expect(exit.code).toBe(0);
      const log = readSessionLog(dir);
      // Conservative: the session starts before ffmpeg captures its first sample.
      const started = Date.parse(String(log[0]!.fields.start_time));
      for (const p of placed) {
        const audioEnd = started + endOf(p) * 1000;
        expect(seenOnScreen.get(p.key), `${p.key} on screen`).toBeDefined();
        expect(seenInFile.get(p.key), `${p.key} in transcript.jsonl`).toBeDefined();
        expect(seenOnScreen.get(p.key)! - audioEnd, `${p.key}: on screen ms after the sentence ended`).toBeLessThan(LATENCY_BOUND_MS);
        expect(seenInFile.get(p.key)! - audioEnd, `${p.key}: in the file ms after the sentence ended`).toBeLessThan(LATENCY_BOUND_MS);
      }
      const lines = readJsonl(dir);
      const utterances = lines.filter((l) => l.text);
      // Honest latency_ms: from the utterance's last audio read, not from a chunk being queued.
      for (const u of utterances) expect(u.latency_ms).toBeLessThan(LATENCY_BOUND_MS);
      // Each line keeps its place in session time and names its chunks: "water" was said across the 20 s boundary.
      const weather = utterances.find((u) => u.text.includes('weather'))!;
      expect(weather.seq).toBe(1);
      expect(weather.end).toBeLessThan(10.2);
      const water = utterances.find((u) => u.text.includes('water'))!;
      expect(water.start).toBeGreaterThan(18.9);
      expect(water.seqs ?? [water.seq]).toEqual([2, 3]);
      // Every chunk settled live, with what it contributed.
      const created = expectChunksFinalAndLogged(dir, log);
      const transcribed = log.filter((l) => l.message === 'chunk_transcribed');
      expect(transcribed.map((l) => l.fields.seq)).toEqual(created.map((c) => c.fields.seq));
      expect(transcribed[0]!.fields).toMatchObject({ mode: 'live', words: expect.stringMatching(/^[1-9]\d*$/) });
      expect(expectStopLast(log, 'end_of_input').fields).toMatchObject({ untranscribed_chunks: '0' });
    },
    SLOW,
  );

  it.concurrent(
    'ffmpeg frozen, killed (SIGKILL) and restarted: a line after the restart keeps its place in session time and names the chunk that holds its audio',
    async () => {
      const box = sandbox();
      // The restarted run reads the file again from its start: the sentence comes 2 s into each run,
      // and the kill falls in the silence before it (after run 1's first chunk, ~1 s in).
      const sentence: Placed = { text: 'we are going to talk about the weather today', key: 'going', start: 2 };
      const input = await placeSpeech(path.join(box.home, 'in.wav'), [sentence], 6);
      const child = startCli(['record', '--config', writeConfig(box), '--input', input, '--segment-time', '1', '--duration', '6.5'], box);
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      await waitFor(() => segmentRows(dir) >= 1, 20_000, 'run 1 listing its first chunk');
      // Frozen, then killed: a gap of seconds, far wider than the decoder's word edges, so a line
      // placed by counting audio bytes (earlier by the gap) cannot pass for one placed right.
      const ffmpegPid = readManifestSync(dir)!.ffmpeg_pid!;
      process.kill(ffmpegPid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(ffmpegPid, 'SIGKILL');
      const exit = await exitOf(child);
      expect(exit.code, child.output().stderr).toBe(0);
      const log = readSessionLog(dir);
      const restart = log.find((l) => l.message === 'capture_restart');
      expect(Number(restart!.fields.gap_ms)).toBeGreaterThan(1500);
      const created = expectChunksFinalAndLogged(dir, log);
      const chunks = created.map((c) => ({
        file: c.fields.file!,
        seq: Number(c.fields.seq),
        start: Number(c.fields.offset_s),
        end: Number(c.fields.offset_s) + Number(c.fields.duration_s),
      }));
      const holding = (t: number): number | undefined => chunks.find((c) => c.start <= t && t < c.end)?.seq;
      // first_chunk is a file number (the torn chunk set aside keeps its number, not a seq).
      const run2 = chunks.find((c) => Number(/\d+/.exec(c.file)![0]) >= Number(restart!.fields.first_chunk))!;
      const line = readJsonl(dir).find((l) => l.text.includes(sentence.key));
      expect(line, `"${sentence.key}" transcribed live`).toBeDefined();
      // Where the sentence really is: 2 s after run 2's first chunk begins (flite's lead-in and the
      // decoder's word edges allow a little either way). Counting session time in bytes put it earlier by the gap.
      const said = run2.start + sentence.start;
      expect(line!.start, `line start vs the sentence at ${said} s (gap ${restart!.fields.gap_ms} ms)`).toBeGreaterThan(said - 0.15);
      expect(line!.start).toBeLessThan(said + 0.6);
      expect(line!.end).toBeLessThan(run2.start + endOf(sentence) + 0.3);
      // It names the chunks that hold its audio, by their offsets in session.log.
      const first = holding(line!.start)!;
      const last = holding(line!.end - 0.001)!;
      expect(line!.seq).toBe(first);
      expect(line!.seqs ?? [line!.seq]).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
      // Every chunk settled live, and the chunk holding the sentence's start says it gave words.
      const transcribed = log.filter((l) => l.message === 'chunk_transcribed');
      expect(transcribed.map((l) => l.fields.seq)).toEqual(created.map((c) => c.fields.seq));
      expect(transcribed.find((l) => Number(l.fields.seq) === first)!.fields).toMatchObject({
        mode: 'live',
        words: expect.stringMatching(/^[1-9]\d*$/),
      });
      expect(line!.latency_ms).toBeLessThan(LATENCY_BOUND_MS);
    },
    SLOW,
  );

  it.concurrent(
    'a frozen decoder (SIGSTOP): recording and chunk_created go on at real time; a fresh decoder fills the transcript per chunk',
    async () => {
      const box = sandbox();
      const placed: Placed[] = [
        { text: 'we are going to talk about the weather today', key: 'weather', start: 3 },
        { text: 'please remember to bring water', key: 'water', start: 8 },
      ];
      const input = await placeSpeech(path.join(box.home, 'in.wav'), placed, 11);
      const child = startCli(['record', '--config', writeConfig(box, 10), '--input', input, '--segment-time', '1'], box);
      const pid = await waitFor(() => readingDecoderPid(child.pid!), 40_000, 'the decoder reading audio');
      process.kill(pid, 'SIGSTOP');
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      // 11 s of audio, then each chunk through a fresh decoder: bounded, and a hang says where it was.
      const exit = await exitWithin(child, 80_000, path.join(dir, 'session.log'));
      expect(exit.code).toBe(0);
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      expect(created).toHaveLength(11);
      const stop = expectStopLast(log, 'end_of_input');
      // ffmpeg was never held back: the last chunk came at real time (log times are whole seconds).
      const lastCreated = Date.parse(created.at(-1)!.timestamp) - Date.parse(log[0]!.timestamp);
      expect(lastCreated).toBeLessThanOrEqual(13_000);
      expect(log.some((l) => l.message === 'live_transcription_stopped')).toBe(true);
      const text = readJsonl(dir)
        .map((l) => l.text)
        .join(' ');
      expect(text).toContain('water');
      expect(stop.fields).toMatchObject({ untranscribed_chunks: '0' });
      // The filled chunks are all covered: transcribe has nothing left to do.
      const again = await runCli(
        ['transcribe', path.basename(dir), '--engine', 'pocketsphinx', '--config', path.join(box.root, 'echolog.conf')],
        box,
      );
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('transcript already covers all');
    },
    SLOW,
  );

  it.concurrent(
    'a continuous tone: chunks are finalized while recording, never only at stop, with no silence added (the decoder says it is idle)',
    async () => {
      const box = sandbox();
      const child = startCli(
        ['record', '--config', writeConfig(box), '--input-format', 'lavfi', '--input', 'sine=f=440:r=16000:d=20', '--segment-time', '2'],
        box,
      );
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      // The decoder hears no speech in a steady tone and says so (idle marks): chunk 1 settles long before the tone ends.
      const settled = await waitFor(() => readJsonl(dir).find((l) => l.chunk === 'transcribed' && l.seq === 1), 40_000, 'chunk 1 settled');
      expect(child.exitCode).toBeNull();
      expect(settled.end).toBeGreaterThan(1.9);
      // status shows how far the transcript trails the recording, in seconds.
      const status = await runCli(['status'], box);
      expect(status.stdout).toMatch(/transcription: pocketsphinx, \d+ chunks? pending \(lag \d+\.\d s\)/);
      const exit = await exitOf(child);
      expect(exit.code).toBe(0);
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      const live = log.filter((l) => l.message === 'chunk_transcribed' && l.fields.mode === 'live');
      expect(live.map((l) => l.fields.seq)).toEqual(created.map((c) => c.fields.seq));
      expect(log.find((l) => l.message === 'live_transcription_end')!.fields.cuts).toBe('0');
    },
    SLOW,
  );

  it.concurrent(
    'on a terminal, the words being spoken show under the spinner and give way to the final line; partials never reach the transcript',
    async () => {
      const box = sandbox();
      const sentence = 'we are going to talk about the weather today';
      const input = await placeSpeech(path.join(box.home, 'in.wav'), [{ text: sentence, key: 'weather', start: 1 }], 7);
      const screen = await runInPty(
        ['record', '--config', writeConfig(box), '--input', input, '--segment-time', '2'],
        box,
        { TERM: 'xterm' },
        60,
      );
      const dir = sessionDirOf(box)!;
      const log = readSessionLog(dir);
      expect(log[0]!.fields).toMatchObject({ transcription_engine: 'pocketsphinx', partial_text: 'on' });
      // A partial: a dim line under the spinner (SGR 2), growing while the sentence is spoken.
      const partials = [...screen.matchAll(/\x1b\[2m {2}([^\x1b]+)\x1b\[22m/g)].map((m) => ({ text: m[1]!, at: m.index! }));
      const final = /\[00:00:0\d\] ([^\r\n]*weather[^\r\n]*)/.exec(screen);
      expect(final, 'the final line on screen').not.toBeNull();
      const before = partials.filter((p) => p.at < final!.index);
      expect(before.length, 'partials before the final line').toBeGreaterThan(0);
      expect(new Set(before.map((p) => p.text)).size, 'the partial grows').toBeGreaterThan(1);
      // Replaced: after the final line no partial is drawn (nothing else was said).
      expect(partials.filter((p) => p.at > final!.index)).toEqual([]);
      // The transcript holds the final words alone.
      const utterances = readJsonl(dir).filter((l) => l.text);
      expect(utterances.map((u) => u.text)).toEqual([final![1]!.trim()]);
      expect(expectStopLast(log, 'end_of_input').fields).toMatchObject({ untranscribed_chunks: '0' });
    },
    SLOW,
  );
});

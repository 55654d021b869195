import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWavHeader } from '../src/recorder/wav-header.js';
import { chunkFiles, expectChunksFinalAndLogged, expectStopLast } from './helpers/chunks.js';
import {
  execFileAsync,
  exitOf,
  makeSandbox,
  makeSpeech,
  onlySessionDir,
  readSessionLog,
  runCli,
  startCli,
  waitFor,
} from './helpers/cli.js';

/**
 * echolog record → pocketsphinx, end to end, with the real engine and with fakes of it first on
 * PATH for the faults the real one cannot produce on demand. Each failure case ends with
 * `echolog transcribe` and the real engine completing the transcript.
 */
const SENTENCES = ['we are going to talk about the weather today', 'it will be sunny in the afternoon', 'please remember to bring water'];
const SPOKEN = SENTENCES.join(' ').split(' ');
const POCKETSPHINX = '/usr/bin/pocketsphinx_continuous';

const sandboxes: Array<ReturnType<typeof makeSandbox>> = [];
function sandbox(): ReturnType<typeof makeSandbox> {
  const s = makeSandbox();
  s.env.ECHOLOG_ENGINE = 'pocketsphinx';
  sandboxes.push(s);
  return s;
}
afterAll(() => sandboxes.forEach((s) => s.cleanup()));

let speechDir: ReturnType<typeof makeSandbox>;
let speech: string;
/** The three sentences with 1.2 s of silence between them (pocketsphinx ends an utterance on 0.5 s of silence). */
beforeAll(async () => {
  speechDir = makeSandbox();
  sandboxes.push(speechDir);
  const parts = await Promise.all(SENTENCES.map((text, i) => makeSpeech(text, path.join(speechDir.root, `s${i}.wav`))));
  speech = path.join(speechDir.root, 'speech.wav');
  const inputs = parts.flatMap((p) => ['-i', p]);
  const graph = '[0][3][1][4][2]concat=n=5:v=0:a=1';
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-f',
    'lavfi',
    '-t',
    '1.2',
    '-i',
    'anullsrc=r=16000:cl=mono',
    '-f',
    'lavfi',
    '-t',
    '1.2',
    '-i',
    'anullsrc=r=16000:cl=mono',
    '-filter_complex',
    graph,
    '-ar',
    '16000',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    speech,
  ]);
});

function recall(text: string): number {
  const said = new Set(text.toLowerCase().split(/\s+/));
  return SPOKEN.filter((w) => said.has(w)).length / SPOKEN.length;
}

function readJsonl(dir: string): Array<{ seq: number; start: number; end: number; text: string; engine: string; latency_ms: number }> {
  try {
    return fs
      .readFileSync(path.join(dir, 'transcript.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

function expectFinalFormats(dir: string, minRecall: number): string {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'transcript.json'), 'utf8'));
  expect(Object.keys(doc)).toEqual(['session_id', 'language', 'duration', 'text', 'utterances']);
  expect(doc.session_id).toBe(path.basename(dir));
  expect(doc.language).toBe('en');
  expect(doc.duration).toBeGreaterThan(7);
  expect(recall(doc.text)).toBeGreaterThanOrEqual(minRecall);
  for (const u of doc.utterances) {
    expect(u.end).toBeGreaterThanOrEqual(u.start);
    expect(u.end).toBeLessThanOrEqual(doc.duration + 0.5);
  }
  expect(recall(fs.readFileSync(path.join(dir, 'transcript.txt'), 'utf8'))).toBeGreaterThanOrEqual(minRecall);
  const srt = fs.readFileSync(path.join(dir, 'transcript.srt'), 'utf8');
  expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
  expect(recall(srt)).toBeGreaterThanOrEqual(minRecall);
  const vtt = fs.readFileSync(path.join(dir, 'transcript.vtt'), 'utf8');
  expect(vtt).toMatch(/^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> /);
  expect(recall(vtt)).toBeGreaterThanOrEqual(minRecall);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8'));
  expect(manifest.stats.utterance_count).toBe(doc.utterances.length);
  expect(manifest.stats.word_count).toBe(doc.text.split(/\s+/).filter(Boolean).length);
  return doc.text;
}

/** Runs `echolog transcribe` with the real engine, then again: the second run changes no byte. */
async function completeWithTranscribe(box: ReturnType<typeof makeSandbox>, dir: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const first = await runCli(
    ['transcribe', path.basename(dir), '--engine', 'pocketsphinx', '--config', path.join(box.root, 'echolog.conf')],
    box,
    env,
  );
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/transcribed \d+ chunks? with pocketsphinx/);
  const covered = new Set(readJsonl(dir).map((l) => l.seq));
  expect([...covered].sort((a, b) => a - b)).toEqual(chunkFiles(dir).map((_, i) => i + 1));
  const text = expectFinalFormats(dir, 0.7);
  const snapshot = () =>
    Object.fromEntries(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('transcript') || f === 'session.json')
        .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
    );
  const before = snapshot();
  const second = await runCli(
    ['transcribe', path.basename(dir), '--engine', 'pocketsphinx', '--config', path.join(box.root, 'echolog.conf')],
    box,
    env,
  );
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('transcript already covers all');
  expect(snapshot()).toEqual(before);
  return text;
}

/**
 * FAKE pocketsphinx_continuous, first on PATH: relays the audio to the real one, with faults.
 * FAKE_DELAY_MS sleeps after each 4 KiB (slower than real time); FAKE_CRASH_AFTER_BYTES exits 1
 * after that many bytes and, via FAKE_MARKER, crashes at once on every later start.
 */
const FAKE = `#!/usr/bin/env node
const fs = require('node:fs');
const { spawn, execFileSync } = require('node:child_process');
const args = process.argv.slice(2);
const at = args.indexOf('-infile') + 1;
const marker = process.env.FAKE_MARKER;
if (marker && fs.existsSync(marker)) { process.stderr.write('FATAL: fake engine: crashed before, refusing to start\\n'); process.exit(1); }
const relay = args[at] + '.relay';
execFileSync('mkfifo', [relay]);
const real = spawn(${JSON.stringify(POCKETSPHINX)}, args.map((a, i) => (i === at ? relay : a)), { stdio: ['ignore', 'inherit', 'ignore'] });
const out = fs.openSync(relay, 'w');
const input = fs.openSync(args[at], 'r');
const buffer = Buffer.alloc(4096);
const delay = Number(process.env.FAKE_DELAY_MS || 0);
const crashAfter = Number(process.env.FAKE_CRASH_AFTER_BYTES || Infinity);
let total = 0;
for (;;) {
  const n = fs.readSync(input, buffer);
  if (n === 0) break;
  fs.writeSync(out, buffer.subarray(0, n));
  total += n;
  if (total >= crashAfter) {
    if (marker) fs.writeFileSync(marker, 'crashed');
    real.kill('SIGKILL');
    process.stderr.write('FATAL: fake engine: crashing after ' + total + ' bytes\\n');
    process.exit(1);
  }
  if (delay) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
}
fs.closeSync(out);
real.on('exit', (code) => process.exit(code ?? 1));
`;

function fakeBin(box: ReturnType<typeof makeSandbox>): string {
  const dir = path.join(box.root, 'fakebin');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'pocketsphinx_continuous'), FAKE, { mode: 0o755 });
  return `${dir}:${process.env.PATH}`;
}

/** A PATH with node, ffmpeg and mkfifo but no pocketsphinx. */
function pathWithoutPocketsphinx(box: ReturnType<typeof makeSandbox>): string {
  const dir = path.join(box.root, 'bin-without-pocketsphinx');
  fs.mkdirSync(dir);
  for (const tool of ['node', 'ffmpeg', 'mkfifo']) fs.symlinkSync(fs.realpathSync(`/usr/bin/${tool}`), path.join(dir, tool));
  return dir;
}

/** The session folder once it exists. */
function sessionDirOf(box: ReturnType<typeof makeSandbox>): string | undefined {
  if (!fs.existsSync(box.recordings)) return undefined;
  const dirs = fs.readdirSync(box.recordings, { withFileTypes: true }).filter((e) => e.isDirectory());
  return dirs.length === 1 ? path.join(box.recordings, dirs[0]!.name) : undefined;
}

/** A config file with these transcription keys; the engine gets 30 s to load on a busy CI machine. */
function writeConfig(box: ReturnType<typeof makeSandbox>, transcription: Record<string, number | boolean> = {}): string {
  const file = path.join(box.root, 'echolog.conf');
  const keys = { ready_timeout: 30, ...transcription };
  fs.writeFileSync(
    file,
    `transcription:\n${Object.entries(keys)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
  );
  return file;
}

const SLOW = 120_000;

describe('live transcription with pocketsphinx', () => {
  it.concurrent(
    'real speech: words reach transcript.jsonl while recording, and every final format after',
    async () => {
      const box = sandbox();
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const child = startCli(
        ['record', '--config', writeConfig(box), '--input', 'x.wav', '--engine', 'pocketsphinx', '--segment-time', '2'],
        box,
        { ECHOLOG_DEBUG_AUDIO_DUMP: '1' },
      );
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      // While ffmpeg still records: text of the first sentences is already in the transcript.
      const live = await waitFor(() => readJsonl(dir).filter((l) => l.text).length > 0 && readJsonl(dir), 40_000, 'a transcript line');
      expect(child.exitCode).toBeNull();
      expect(readSessionLog(dir).some((l) => l.message === 'session_stop')).toBe(false);
      expect(live[0]).toMatchObject({ engine: 'pocketsphinx', seq: expect.any(Number), latency_ms: expect.any(Number) });
      expect(recall(live.map((l) => l.text).join(' '))).toBeGreaterThan(0.2);

      const exit = await exitOf(child);
      expect(child.output().stderr).toBe('');
      expect(exit.code).toBe(0);
      // The decoders' FIFO folders (in the sandbox's TMPDIR) are gone with a graceful stop.
      expect(fs.readdirSync(box.env.TMPDIR!)).toEqual([]);
      expect(child.output().stdout).toMatch(/^\[00:00:0\d\] .*weather/m);
      const log = readSessionLog(dir);
      expect(log[0]!.fields).toMatchObject({ transcription_engine: 'pocketsphinx', transcription_model: 'en-us' });
      // The engine loaded beside the capture: ffmpeg started before it was ready.
      const ready = log.findIndex((l) => l.message === 'transcription_ready');
      expect(ready).toBeGreaterThan(log.findIndex((l) => l.message === 'ffmpeg_started'));
      const created = expectChunksFinalAndLogged(dir, log);
      const transcribed = log.filter((l) => l.message === 'chunk_transcribed');
      expect(transcribed.map((l) => l.fields.seq)).toEqual(created.map((c) => c.fields.seq));
      for (const line of transcribed)
        expect(line.fields).toMatchObject({
          engine: 'pocketsphinx',
          latency_ms: expect.stringMatching(/^\d+$/),
          chars: expect.stringMatching(/^\d+$/),
        });
      expect(expectStopLast(log, 'end_of_input').fields).toMatchObject({ untranscribed_chunks: '0' });
      // Times are session-relative: "weather" was said in the first sentence, "water" in the last (after 6 s).
      const words = JSON.parse(fs.readFileSync(path.join(dir, 'transcript.json'), 'utf8')).utterances.flatMap(
        (u: { words?: Array<{ word: string; start: number }> }) => u.words ?? [],
      );
      expect(words.find((w: { word: string }) => w.word === 'weather')?.start).toBeLessThan(3);
      expect(words.find((w: { word: string }) => w.word === 'water')?.start).toBeGreaterThan(6);
      const text = expectFinalFormats(dir, 0.75);
      console.log(`e2e word recall: ${(recall(text) * 100).toFixed(0)}% (${SPOKEN.length} words): ${text}`);

      // The debug dump is exactly the PCM of the chunks, in order (none was silent).
      const dumps = fs.readdirSync(path.join(dir, 'debug'));
      expect(dumps).toHaveLength(1);
      expect(dumps[0]).toMatch(new RegExp(`^${path.basename(dir)}_input_\\d{8}T\\d{6}Z\\.pcm$`));
      const pcm = Buffer.concat(
        chunkFiles(dir).map((f) => {
          const wav = fs.readFileSync(path.join(dir, f));
          const { dataOffset, dataBytes } = parseWavHeader(wav);
          return wav.subarray(dataOffset, dataOffset + dataBytes);
        }),
      );
      expect(fs.readFileSync(path.join(dir, 'debug', dumps[0]!)).equals(pcm)).toBe(true);

      // Nothing lacks: transcribe rewrites the same bytes.
      const before = fs.readFileSync(path.join(dir, 'transcript.json'), 'utf8');
      const again = await runCli(
        ['transcribe', path.basename(dir), '--engine', 'pocketsphinx', '--config', path.join(box.root, 'echolog.conf')],
        box,
      );
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('transcript already covers all');
      expect(fs.readFileSync(path.join(dir, 'transcript.json'), 'utf8')).toBe(before);
    },
    SLOW,
  );

  it.concurrent(
    'engine missing: records anyway with a WARNING; echolog transcribe completes it',
    async () => {
      const box = sandbox();
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const result = await runCli(
        ['record', '--config', writeConfig(box), '--input', 'x.wav', '--segment-time', '2', '--no-realtime'],
        box,
        { PATH: pathWithoutPocketsphinx(box) },
      );
      expect(result.code).toBe(0);
      const dir = onlySessionDir(box.recordings);
      const log = readSessionLog(dir);
      const unavailable = log.find((l) => l.message === 'transcription_unavailable')!;
      expect(unavailable.level).toBe('WARNING');
      expect(unavailable.fields.reason).toMatch(/pocketsphinx is not installed.*apt-get install pocketsphinx/);
      expect(log[0]!.fields).toMatchObject({ transcription_engine: 'pocketsphinx', transcription_ready: 'false' });
      const created = expectChunksFinalAndLogged(dir, log);
      expect(expectStopLast(log, 'end_of_input').fields).toMatchObject({
        untranscribed_chunks: String(created.length),
        untranscribed_seqs: `1-${created.length}`,
      });
      // Warnings are on stderr, so `echolog record > out.txt` still shows them; progress stays on stdout.
      expect(result.stdout).toMatch(/^Logging to \S+session\.log \(level=info\)\n/);
      expect(result.stdout).not.toContain('warning:');
      // Said at once, not only in the end-of-session summary.
      const warnings = result.stderr.split('\n').filter((line) => line.startsWith('echolog: warning: '));
      expect(warnings[0]).toMatch(/^echolog: warning: recording without transcription: pocketsphinx is not installed/);
      expect(warnings.at(-1)).toMatch(/^echolog: warning: \d+ chunks not transcribed \(seq 1-\d+\); run `echolog transcribe/);
      expect(readJsonl(dir)).toEqual([]);
      await completeWithTranscribe(box, dir);
    },
    SLOW,
  );

  it.concurrent(
    'transcription.required with a missing engine: exit 1 before anything is created',
    async () => {
      const box = sandbox();
      const config = writeConfig(box, { required: true });
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const result = await runCli(['record', '--config', config, '--input', 'x.wav', '--no-realtime'], box, {
        PATH: pathWithoutPocketsphinx(box),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^echolog: transcription\.required is set, but pocketsphinx is not installed/);
      expect(fs.existsSync(box.recordings) ? fs.readdirSync(box.recordings).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    },
    SLOW,
  );

  it.concurrent(
    'transcription.required with an engine that fails to start: the session stops, and session.log says why at ERROR (sessions show lists it)',
    async () => {
      const box = sandbox();
      const config = writeConfig(box, { required: true, live: false, ready_timeout: 10 });
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const marker = path.join(box.root, 'crashed');
      // The fake engine refuses to start once its marker exists: an engine that cannot load (issue 18 §4).
      fs.writeFileSync(marker, 'crashed');
      const result = await runCli(['record', '--config', config, '--input', 'x.wav', '--no-realtime', '--log-level', 'warning'], box, {
        PATH: fakeBin(box),
        FAKE_MARKER: marker,
      });
      expect(result.code).toBe(1);
      const dir = onlySessionDir(box.recordings);
      const log = readSessionLog(dir);
      const why = log.find((l) => l.message === 'transcription_unavailable');
      expect(why).toMatchObject({
        level: 'ERROR',
        fields: { engine: 'pocketsphinx', required: 'true', reason: expect.stringMatching(/FATAL: fake engine: crashed before/) },
      });
      const show = await runCli(['sessions', 'show', path.basename(dir)], box);
      expect(show.stdout).toMatch(/ERROR echolog\.transcriber: transcription_unavailable engine=pocketsphinx .*FATAL: fake engine/);
    },
    SLOW,
  );

  it.concurrent(
    '--engine whisper with no model downloaded: refused before recording, exit 2, naming `echolog models pull`',
    async () => {
      const box = sandbox();
      const result = await runCli(
        ['record', '--engine', 'whisper', '--input-format', 'lavfi', '--input', 'sine=frequency=440', '--duration', '1'],
        box,
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^echolog: transcription engine whisper cannot run: whisper model tiny\.en not found at .*; download it with `echolog models pull tiny\.en`\n$/,
      );
      expect(fs.existsSync(box.recordings) ? fs.readdirSync(box.recordings).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    },
    SLOW,
  );

  it.concurrent(
    'per chunk (live: false), engine crashing mid-session: retried, then each chunk logged as failed; echolog transcribe completes it',
    async () => {
      const box = sandbox();
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const config = writeConfig(box, { max_retries: 1, live: false });
      const env = { PATH: fakeBin(box), FAKE_CRASH_AFTER_BYTES: '150000', FAKE_MARKER: path.join(box.root, 'crashed') };
      const result = await runCli(['record', '--config', config, '--input', 'x.wav', '--segment-time', '2', '--no-realtime'], box, env);
      expect(result.code).toBe(0);
      const dir = onlySessionDir(box.recordings);
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      // Chunks 1-2 (128000 bytes) went through; the engine died inside chunk 3.
      expect(log.filter((l) => l.message === 'chunk_transcribed').map((l) => l.fields.seq)).toEqual(['1', '2']);
      const retry = log.find((l) => l.message === 'chunk_transcription_retry')!;
      expect(retry).toMatchObject({
        level: 'WARNING',
        fields: {
          seq: '3',
          reason: expect.stringMatching(/pocketsphinx_continuous exited with code 1: FATAL: fake engine: crashing after/),
        },
      });
      // Chunk 2 ended inside a sentence: that text in progress died with the engine, so chunk 2 is left too.
      expect(log.find((l) => l.message === 'chunks_unfinalized')).toMatchObject({
        level: 'WARNING',
        fields: { seqs: expect.stringMatching(/(^|,)2$/) },
      });
      const failed = log.filter((l) => l.message === 'chunk_transcription_failed');
      expect(failed.map((l) => l.fields.seq)).toEqual(created.slice(2).map((c) => c.fields.seq));
      expect(failed.every((l) => l.level === 'WARNING' && /fake engine/.test(l.fields.reason!))).toBe(true);
      expect(expectStopLast(log, 'end_of_input').fields.untranscribed_seqs).toMatch(new RegExp(`^(1-|2-)${created.length}$`));
      await completeWithTranscribe(box, dir);
    },
    SLOW,
  );

  it.concurrent(
    'per chunk (live: false), engine slower than real time: one WARNING with the ratio, lag in status, the rest named at stop; echolog transcribe completes it',
    async () => {
      const box = sandbox();
      fs.copyFileSync(speech, path.join(box.home, 'x.wav'));
      const config = writeConfig(box, { drain_timeout: 15, live: false });
      // 4 KiB (0.128 s of audio) every 250 ms: about 2× slower than real time.
      const env = { PATH: fakeBin(box), FAKE_DELAY_MS: '250' };
      const child = startCli(['record', '--config', config, '--input', 'x.wav', '--segment-time', '1', '--no-realtime'], box, env);
      const dir = await waitFor(() => sessionDirOf(box), 40_000, 'the session folder');
      await waitFor(
        () => fs.existsSync(path.join(dir, 'session.log')) && readSessionLog(dir).some((l) => l.message === 'transcription_behind'),
        40_000,
        'the lag warning',
      );
      const status = await runCli(['status'], box, env);
      expect(status.stderr).toBe('');
      expect(status.stdout).toMatch(
        /^transcription: pocketsphinx, \d+ chunks? pending \(lag \d+\.\d s\), \d\.\d\d× real time \(falling behind\)/m,
      );
      const exit = await exitOf(child);
      expect(exit.code).toBe(0);
      const log = readSessionLog(dir);
      const behind = log.filter((l) => l.message === 'transcription_behind');
      expect(behind).toHaveLength(1);
      expect(behind[0]!.level).toBe('WARNING');
      expect(Number(behind[0]!.fields.ratio)).toBeGreaterThan(1);
      const created = expectChunksFinalAndLogged(dir, log);
      const stop = expectStopLast(log, 'end_of_input');
      expect(Number(stop.fields.untranscribed_chunks)).toBeGreaterThan(0);
      // Named in session_stop: the chunks never reached, or whose text was still in progress.
      expect(stop.fields.untranscribed_seqs).toMatch(/^\d+([-,]\d+)*$/);
      expect(created.length).toBeGreaterThanOrEqual(Number(stop.fields.untranscribed_chunks));
      expect(child.output().stderr).toMatch(/warning: transcription is slower than real time \(\d\.\d\d×/);
      expect(child.output().stderr).toMatch(/warning: \d+ chunks? not transcribed/);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')).transcription.realtime_factor).toBeGreaterThan(1);
      await completeWithTranscribe(box, dir);
    },
    SLOW,
  );
});

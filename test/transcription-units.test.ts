import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type EchologConfig } from '../src/config/schema.js';
import type { Chunk } from '../src/recorder/chunk.js';
import type { SessionContext } from '../src/transcription/session-component.js';
import type { SessionManifest } from '../src/store/session-manifest.js';
import { formatTranscriptionStatus } from '../src/cli/status-command.js';
import { formatDb, isSilent, LevelMeter, measureLevel } from '../src/audio/audio-level.js';
import { AudioDecodeError, decodePieces, engineAudioPieces, measureFileLevel, PIECE_BYTES } from '../src/audio/engine-audio.js';
import { parseWavHeader, pcmWavHeader } from '../src/recorder/wav-header.js';
import { processesMatching } from './helpers/chunks.js';
import { ChunkTranscriber } from '../src/transcription/chunk-transcriber.js';
import { dumpFileName } from '../src/audio/debug-audio-dump.js';
import type { EngineChunk, TranscriptionEngine, TranscriptSegment } from '../src/transcription/engines/engine.js';
import { buildPocketsphinxArgs, findPocketsphinx } from '../src/transcription/engines/pocketsphinx-command.js';
import { parseRchar, PocketsphinxEngine } from '../src/transcription/engines/pocketsphinx-engine.js';
import { ContinuousOutputParser, normalizeWord, parseV5Line, StreamTimeline } from '../src/transcription/engines/pocketsphinx-output.js';
import { resolveEngine, type EngineDeps } from '../src/transcription/engines/resolve-engine.js';
import { formatSeqs, TranscriptionComponent } from '../src/transcription/session-transcriber.js';
import { DebugAudioDump } from '../src/audio/debug-audio-dump.js';
import { TranscriptionError } from '../src/errors.js';
import {
  buildTranscript,
  formatCueTime,
  formatSrt,
  formatTxt,
  formatVtt,
  parseTranscriptJsonl,
  type TranscriptLine,
} from '../src/transcription/transcript/transcript-formats.js';
import { TranscriptStore } from '../src/transcription/transcript/transcript-store.js';
import { byteDifference } from './helpers/bytes.js';
import { recordingLogger } from './helpers/logger.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-transcription-units-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function pcmOf(samples: number[]): Buffer {
  const buffer = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => buffer.writeInt16LE(s, i * 2));
  return buffer;
}

describe('audio level (silence gate)', () => {
  it('digital silence is -inf and gated at any threshold', () => {
    const level = measureLevel(Buffer.alloc(32000), 16000);
    expect(level.levelDb).toBe(-Infinity);
    expect(isSilent(level, -90)).toBe(true);
    expect(formatDb(level.levelDb)).toBe('-inf');
  });
  it('a full-scale square wave is 0 dBFS', () => {
    const level = measureLevel(pcmOf(Array.from({ length: 1600 }, (_, i) => (i % 2 ? 32767 : -32768))), 16000);
    expect(level.peakDb).toBeCloseTo(0, 1);
    expect(level.rmsDb).toBeCloseTo(0, 1);
  });
  it('a short loud burst in a long silence still passes: the level is the loudest 50 ms window', () => {
    const samples = new Array(32000).fill(0);
    for (let i = 16000; i < 16800; i++) samples[i] = i % 2 ? 3000 : -3000; // 50 ms at -20.8 dBFS
    const level = measureLevel(pcmOf(samples), 16000);
    expect(level.levelDb).toBeCloseTo(-20.8, 0);
    expect(level.rmsDb).toBeLessThan(-30);
    expect(isSilent(level, DEFAULT_CONFIG.transcription.silence_threshold_db)).toBe(false);
  });
  it('very low noise (±5 LSB, about -76 dBFS) is gated by the default threshold', () => {
    const level = measureLevel(pcmOf(Array.from({ length: 16000 }, (_, i) => (i % 3) * 5 - 5)), 16000);
    expect(isSilent(level, DEFAULT_CONFIG.transcription.silence_threshold_db)).toBe(true);
  });
});

describe('pocketsphinx command', () => {
  it('builds argv for 5prealpha pocketsphinx_continuous', () => {
    expect(
      buildPocketsphinxArgs({ variant: 'continuous', path: 'pocketsphinx_continuous' }, { input: '/t/audio.raw', sampleRate: 16000 }),
    ).toEqual(['-infile', '/t/audio.raw', '-time', 'yes', '-samprate', '16000']);
  });
  it('builds argv for the 5.x pocketsphinx CLI, with a model dir', () => {
    expect(buildPocketsphinxArgs({ variant: 'v5', path: 'pocketsphinx' }, { input: '/t/audio.raw', sampleRate: 16000, hmm: '/m' })).toEqual(
      ['-samprate', '16000', '-hmm', '/m', 'live', '/t/audio.raw'],
    );
  });
  it('finds pocketsphinx_continuous before pocketsphinx, in PATH order', () => {
    const present = new Set(['/b/pocketsphinx', '/c/pocketsphinx_continuous']);
    expect(findPocketsphinx({ PATH: '/a:/b:/c' }, (f) => present.has(f))).toEqual({
      variant: 'continuous',
      path: '/c/pocketsphinx_continuous',
    });
    expect(findPocketsphinx({ PATH: '/a:/b' }, (f) => present.has(f))).toEqual({ variant: 'v5', path: '/b/pocketsphinx' });
    expect(findPocketsphinx({ PATH: '/a' }, (f) => present.has(f))).toBeUndefined();
  });
  it('reads rchar from /proc/<pid>/io', () => {
    expect(parseRchar('rchar: 35388689\nwchar: 12\nsyscr: 3\n')).toBe(35388689);
    expect(parseRchar('nothing')).toBeUndefined();
  });
});

// Captured: `pocketsphinx_continuous -infile /dev/stdin -time yes -logfn /dev/null` (Debian 12) on
// flite's "hello world", 1.5 s of silence, "good morning".
const CAPTURED_CONTINUOUS = `hello world
<s> 0.000 0.140 1.000100
hello(2) 0.150 0.580 1.000100
world 0.590 1.110 1.000000
</s> 1.120 1.550 1.000000
good morning
<s> 2.840 2.940 0.999500
good(2) 2.950 3.090 0.275065
morning 3.100 3.740 0.970636
</s> 3.750 3.840 1.000000`;

describe('pocketsphinx output parsers', () => {
  it('completes each utterance as soon as its words spell the hypothesis', () => {
    const parser = new ContinuousOutputParser();
    const emitted = CAPTURED_CONTINUOUS.split('\n').map((line) => parser.push(line).map((u) => u.text));
    expect(emitted[3]).toEqual(['hello world']);
    expect(emitted[8]).toEqual(['good morning']);
    expect(parser.end()).toEqual([]);
  });
  it('gives utterance and word times, without fillers and alternate-pronunciation marks', () => {
    const parser = new ContinuousOutputParser();
    const all = CAPTURED_CONTINUOUS.split('\n').flatMap((line) => parser.push(line));
    expect(all[1]).toEqual({
      start: 2.95,
      end: 3.74,
      text: 'good morning',
      words: [
        { word: 'good', start: 2.95, end: 3.09 },
        { word: 'morning', start: 3.1, end: 3.74 },
      ],
    });
    expect(normalizeWord('[NOISE]')).toBeUndefined();
    expect(normalizeWord('<sil>')).toBeUndefined();
  });
  it('without word lines, an utterance ends at the next hypothesis or the end of stream', () => {
    const parser = new ContinuousOutputParser();
    expect(parser.push('hello world')).toEqual([]);
    expect(parser.push('good morning').map((u) => u.text)).toEqual(['hello world']);
    expect(parser.end().map((u) => u.text)).toEqual(['good morning']);
  });
  it('parses 5.x live JSON lines', () => {
    const line =
      '{"b":2.840,"d":1.000,"p":0.97,"t":"good morning","w":[{"b":2.840,"d":0.100,"p":1.0,"t":"<sil>"},{"b":2.950,"d":0.140,"p":0.3,"t":"good(2)"},{"b":3.100,"d":0.640,"p":0.97,"t":"morning"}]}';
    const [u] = parseV5Line(line);
    expect(u).toMatchObject({ start: 2.84, text: 'good morning' });
    expect(u!.end).toBeCloseTo(3.84, 3);
    expect(u!.words!.map((w) => w.word)).toEqual(['good', 'morning']);
    expect(parseV5Line('{"b":0.000,"d":0.010,"p":1.000,"t":"","w":[]}')).toEqual([]);
    expect(parseV5Line('INFO: not json')).toEqual([]);
  });
  it('maps stream time to session time across chunks the decoder never saw', () => {
    const timeline = new StreamTimeline();
    timeline.append(1, 0, 2);
    timeline.append(3, 4, 2); // chunk 2 (2-4 s) was silent and not fed
    expect(timeline.toSession(1.5)).toBe(1.5);
    expect(timeline.toSession(2.5)).toBe(4.5);
    expect(timeline.toSession(5)).toBe(6); // past the end: clamped to the last piece
    expect(
      timeline.mapSegment({
        start: 1.9,
        end: 2.6,
        text: 'a b',
        words: [
          { word: 'a', start: 1.9, end: 2 },
          { word: 'b', start: 2.1, end: 2.6 },
        ],
      }),
    ).toEqual({
      start: 1.9,
      end: 4.6,
      text: 'a b',
      words: [
        { word: 'a', start: 1.9, end: 4 },
        { word: 'b', start: 4.1, end: 4.6 },
      ],
    });
  });
});

const LINES: TranscriptLine[] = [
  { seq: 1, start: 0, end: 2, text: '', engine: 'pocketsphinx', latency_ms: 10, chunk: 'transcribed' },
  { seq: 3, start: 62.5, end: 64.25, text: 'good morning', engine: 'pocketsphinx', latency_ms: 20 },
  {
    seq: 2,
    start: 2.2,
    end: 3.1,
    text: 'hello world',
    engine: 'pocketsphinx',
    latency_ms: 30,
    words: [
      { word: 'hello', start: 2.2, end: 2.6 },
      { word: 'world', start: 2.7, end: 3.1 },
    ],
  },
  { seq: 4, start: 66, end: 68, text: '', engine: 'pocketsphinx', latency_ms: 0, chunk: 'silent' },
];

describe('transcript formats', () => {
  const doc = buildTranscript(LINES, { sessionId: 's1', language: 'en', duration: 68.0004 });
  it('builds the seed-003 document: utterances in time order, empty lines left out', () => {
    expect(doc).toEqual({
      session_id: 's1',
      language: 'en',
      duration: 68,
      text: 'hello world good morning',
      utterances: [
        { start: 2.2, end: 3.1, text: 'hello world', words: LINES[2]!.words },
        { start: 62.5, end: 64.25, text: 'good morning' },
      ],
    });
  });
  it('formats cue times', () => {
    expect(formatCueTime(3723.0456, ',')).toBe('01:02:03,046');
    expect(formatCueTime(0, '.')).toBe('00:00:00.000');
  });
  it('writes txt, srt and vtt', () => {
    expect(formatTxt(doc)).toBe('hello world\ngood morning\n');
    expect(formatSrt(doc)).toBe('1\n00:00:02,200 --> 00:00:03,100\nhello world\n\n2\n00:01:02,500 --> 00:01:04,250\ngood morning\n');
    expect(formatVtt(doc)).toBe('WEBVTT\n\n00:00:02.200 --> 00:00:03.100\nhello world\n\n00:01:02.500 --> 00:01:04.250\ngood morning\n');
  });
  it('reads jsonl back, skipping a line cut short by a crash', () => {
    const text = `${JSON.stringify(LINES[1])}\n{"seq":5,"sta`;
    expect(parseTranscriptJsonl(text)).toEqual([LINES[1]]);
  });
  it('formats seq lists compactly', () => {
    expect(formatSeqs([7, 1, 2, 3, 5, 8])).toBe('1-3,5,7-8');
    expect(formatSeqs([4])).toBe('4');
  });
  it('names the debug dump file after the session, source and time', () => {
    expect(dumpFileName('20261122T010203Z-abc123', 'input', new Date('2026-11-22T01:02:03.456Z'))).toBe(
      '20261122T010203Z-abc123_input_20261122T010203Z.pcm',
    );
  });
  it('shows transcription progress in status', () => {
    const base = {
      engine: 'pocketsphinx',
      model: 'en-us',
      state: 'running' as const,
      transcribed_chunks: 3,
      silent_chunks: 0,
      failed_chunks: 0,
      utterance_count: 4,
      word_count: 9,
    };
    expect(formatTranscriptionStatus({ ...base, pending_chunks: 2, lag_seconds: 4, realtime_factor: 1.8 })).toBe(
      'transcription: pocketsphinx, 2 chunks pending (lag 4.0 s), 1.80× real time (falling behind), 4 utterances',
    );
  });
});

const config = (over: Partial<EchologConfig['transcription']> = {}): EchologConfig => ({
  ...DEFAULT_CONFIG,
  transcription: { ...DEFAULT_CONFIG.transcription, ...over },
});
const fakeEngine = {
  start: async () => undefined,
  transcribe: async () => [],
  flush: async () => [],
  close: async () => undefined,
  name: 'whisper',
  model: 'tiny.en',
};

describe('resolveEngine', () => {
  const streamDecoder = {
    variant: 'stream' as const,
    path: '/usr/bin/node',
    script: '/app/dist/transcription/engines/pocketsphinx-stream-decoder.js',
  };
  const deps = (whisper: boolean | 'unloadable', pocketsphinx: boolean, stream: boolean = true): EngineDeps => ({
    loadWhisper: async () =>
      whisper === 'unloadable'
        ? undefined
        : {
            whisperAvailability: async () =>
              whisper ? { available: true } : { available: false, reason: 'whisper model tiny.en not found at /cache/ggml-tiny.en.bin' },
            createWhisperEngine: () => fakeEngine,
          },
    findPocketsphinx: () => (pocketsphinx ? { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' } : undefined),
    findStreamDecoder: async () => (stream ? streamDecoder : { unavailable: 'koffi is not installed' }),
  });
  const binaryOf = (r: Awaited<ReturnType<typeof resolveEngine>>): unknown =>
    r.kind === 'engine' ? (r.create() as PocketsphinxEngine).binary : undefined;
  it('pocketsphinx for a live session: the stream decoder where it loads (partial text), else the CLI and why not', async () => {
    const live = await resolveEngine(config({ engine: 'pocketsphinx' }), {}, deps(false, true), { live: true });
    expect(binaryOf(live)).toEqual(streamDecoder);
    expect(live).toMatchObject({ startFields: { partial_text: 'on' } });
    // What the live path misses, or all of it should the stream decoder not start: the CLI.
    expect(live.kind === 'engine' && (live.createPerChunk?.() as PocketsphinxEngine).binary).toMatchObject({ variant: 'continuous' });
    const without = await resolveEngine(config({ engine: 'pocketsphinx' }), {}, deps(false, true, false), { live: true });
    expect(binaryOf(without)).toMatchObject({ variant: 'continuous' });
    expect(without).toMatchObject({ startFields: { partial_text: 'off', partial_text_reason: 'koffi is not installed' } });
  });
  it('pocketsphinx per chunk (transcribe, the daemon, transcription.live false): the CLI, and no word of partial text', async () => {
    for (const r of [
      await resolveEngine(config({ engine: 'pocketsphinx' }), {}, deps(false, true)),
      await resolveEngine(config({ engine: 'pocketsphinx', live: false }), {}, deps(false, true), { live: true }),
    ]) {
      expect(binaryOf(r)).toMatchObject({ variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' });
      expect(r.kind === 'engine' && r.startFields).toBeFalsy();
    }
  });
  it('auto: whisper when its model is present', async () => {
    expect(await resolveEngine(config(), {}, deps(true, true))).toMatchObject({ kind: 'engine', name: 'whisper', model: 'tiny.en' });
  });
  it('auto: pocketsphinx when whisper has no model or cannot load', async () => {
    expect(await resolveEngine(config(), {}, deps(false, true))).toMatchObject({ kind: 'engine', name: 'pocketsphinx', model: 'en-us' });
    expect(await resolveEngine(config(), {}, deps('unloadable', true))).toMatchObject({ kind: 'engine', name: 'pocketsphinx' });
  });
  it('auto: off with a hint how to enable one when neither is there', async () => {
    const r = await resolveEngine(config(), {}, deps(false, false));
    expect(r).toMatchObject({ kind: 'off' });
    expect(r.kind === 'off' && r.hint).toMatch(/echolog models pull tiny\.en.*apt-get install pocketsphinx/);
  });
  it('pocketsphinx takes any capture format (44.1 kHz stereo): it is given its own 16 kHz mono', async () => {
    const stereo = { ...config({ engine: 'pocketsphinx' }), recording: { ...DEFAULT_CONFIG.recording, sample_rate: 44100, channels: 2 } };
    const resolution = await resolveEngine(stereo, {}, deps(false, true));
    expect(resolution).toMatchObject({ kind: 'engine', name: 'pocketsphinx' });
    expect(resolution.kind === 'engine' && resolution.create().audioFormat).toEqual({ sampleRate: 16000 });
  });
  it('none is off; a named engine that is absent is missing, with the reason', async () => {
    expect(await resolveEngine(config({ engine: 'none' }), {}, deps(true, true))).toMatchObject({ kind: 'off' });
    expect(await resolveEngine(config({ engine: 'pocketsphinx' }), {}, deps(true, false))).toMatchObject({
      kind: 'missing',
      name: 'pocketsphinx',
      reason: expect.stringMatching(/not installed/),
    });
    // Named and not runnable: refused before recording (issue 18 §4), unlike a named pocketsphinx that is not installed.
    expect(await resolveEngine(config({ engine: 'whisper' }), {}, deps(false, true))).toMatchObject({
      kind: 'missing',
      name: 'whisper',
      reason: expect.stringMatching(/not found at \/cache/),
      refuse: true,
    });
  });
});

/** A scripted engine: each transcribe call takes `computeMs` and fails while `failures` lasts. */
class ScriptedEngine implements TranscriptionEngine {
  readonly name = 'scripted';
  readonly model = 'm';
  starts = 0;
  fed: number[] = [];
  constructor(
    private failures: number,
    private readonly computeMs = 0,
  ) {}
  async start(): Promise<void> {
    this.starts++;
  }
  async transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]> {
    await new Promise((r) => setTimeout(r, this.computeMs));
    if (this.failures-- > 0) throw new Error('engine exploded');
    this.fed.push(chunk.seq);
    return [{ start: chunk.offsetSeconds, end: chunk.offsetSeconds + 0.5, text: `words of chunk ${chunk.seq}` }];
  }
  async flush(): Promise<TranscriptSegment[]> {
    return [{ start: 99, end: 100, text: 'held back' }];
  }
  async close(): Promise<void> {}
}

let chunkCounter = 0;
function writeChunk(dir: string, seq: number, seconds: number, amplitude: number): Chunk {
  const samples = Math.round(16000 * seconds);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(i % 2 ? amplitude : -amplitude, i * 2);
  const header = pcmWavHeader(16000, 1, pcm.length);
  const file = path.join(dir, `chunk_${++chunkCounter}.wav`);
  fs.writeFileSync(file, Buffer.concat([header, pcm]));
  const wav = { sampleRate: 16000, channels: 1, bitsPerSample: 16, dataBytes: pcm.length, dataOffset: 44, riffFileBytes: 44 + pcm.length };
  const offset = (seq - 1) * seconds;
  return {
    seq,
    file: path.basename(file),
    path: file,
    sizeBytes: 44 + pcm.length,
    durationSeconds: seconds,
    offsetSeconds: offset,
    startTime: new Date(offset * 1000),
    endTime: new Date((offset + seconds) * 1000),
    wav,
  };
}

describe('ChunkTranscriber (the queue)', () => {
  it('transcribes in order, gates silent chunks, retries a failure after restarting the engine, flushes at the end', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const engine = new ScriptedEngine(1);
    const logger = recordingLogger();
    const texts: string[] = [];
    const store = new TranscriptStore(dir);
    const q = new ChunkTranscriber({
      engine,
      engineName: 'scripted',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store,
      logger,
      retryBaseMs: 10,
      onText: (l) => texts.push(l.text),
    });
    q.enqueue(writeChunk(dir, 1, 0.5, 3000));
    q.enqueue(writeChunk(dir, 2, 0.5, 0));
    q.enqueue(writeChunk(dir, 3, 0.5, 3000));
    expect(await q.drain(5000)).toEqual([]);
    expect(engine.fed).toEqual([1, 3]);
    expect(engine.starts).toBe(1); // one restart before the retry
    expect(texts).toEqual(['words of chunk 1', 'words of chunk 3', 'held back']);
    expect(logger.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'warning chunk_transcription_retry',
      'info chunk_transcribed',
      'info chunk_silent',
      'info chunk_transcribed',
    ]);
    expect(logger.lines[1]!.fields).toMatchObject({ seq: 1, engine: 'scripted', attempts: 2, chars: 16 });
    const lines = await store.read();
    expect(lines.map((l) => [l.seq, l.text, l.chunk])).toEqual([
      [1, 'words of chunk 1', undefined],
      [1, '', 'transcribed'],
      [2, '', 'silent'],
      [3, 'words of chunk 3', undefined],
      [3, '', 'transcribed'],
      [3, 'held back', undefined],
    ]);
    expect(q.progress).toMatchObject({ transcribed_chunks: 2, silent_chunks: 1, utterance_count: 3, word_count: 10, pending_chunks: 0 });
  });

  it('a streaming decoder (needsSilence) gets silent chunks too: silence is what ends its utterances', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const engine = Object.assign(new ScriptedEngine(0), { needsSilence: true });
    const store = new TranscriptStore(dir);
    const q = new ChunkTranscriber({
      engine,
      engineName: 'scripted',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store,
      logger: recordingLogger(),
    });
    q.enqueue(writeChunk(dir, 1, 0.5, 3000));
    q.enqueue(writeChunk(dir, 2, 0.5, 0));
    expect(await q.drain(5000)).toEqual([]);
    expect(engine.fed).toEqual([1, 2]);
    expect(q.progress).toMatchObject({ transcribed_chunks: 2, silent_chunks: 0 });
  });

  it('a streaming engine: a chunk is covered once its text is final; a crash leaves the chunks in progress for `echolog transcribe`', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    // Chunk 1 ends an utterance at 0.3 s, then one starts (finalized stays 0.3); chunk 2 dies.
    let finalized = 0;
    const engine: TranscriptionEngine = {
      name: 'stream',
      model: 'm',
      start: async () => undefined,
      transcribe: async (chunk) => {
        if (chunk.seq === 2) throw new Error('decoder died');
        finalized = 0.3;
        return [{ start: 0.1, end: 0.3, text: 'first words' }];
      },
      finalizedThrough: () => finalized,
      flush: async () => [],
      close: async () => undefined,
    };
    const logger = recordingLogger();
    const store = new TranscriptStore(dir);
    const q = new ChunkTranscriber({
      engine,
      engineName: 'stream',
      config: config({ max_retries: 0 }).transcription,
      ffmpegPath: 'ffmpeg',
      store,
      logger,
    });
    q.enqueue(writeChunk(dir, 1, 0.5, 3000));
    q.enqueue(writeChunk(dir, 2, 0.5, 3000));
    expect(await q.drain(5000)).toEqual([1, 2]);
    expect((await store.read()).map((l) => [l.seq, l.text, l.chunk])).toEqual([[1, 'first words', undefined]]);
    expect(logger.lines.find((l) => l.message === 'chunks_unfinalized')).toMatchObject({
      level: 'warning',
      fields: { seqs: '1', reason: 'decoder died' },
    });
  });

  it('after max_retries logs the failure with its reason and leaves the chunk; the next chunk still goes', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const logger = recordingLogger();
    const q = new ChunkTranscriber({
      engine: new ScriptedEngine(2),
      engineName: 'scripted',
      config: config({ max_retries: 1 }).transcription,
      ffmpegPath: 'ffmpeg',
      store: new TranscriptStore(dir),
      logger,
      retryBaseMs: 10,
    });
    q.enqueue(writeChunk(dir, 1, 0.5, 3000));
    q.enqueue(writeChunk(dir, 2, 0.5, 3000));
    expect(await q.drain(5000)).toEqual([1]);
    const failed = logger.lines.find((l) => l.message === 'chunk_transcription_failed')!;
    expect(failed).toMatchObject({ level: 'warning', fields: { seq: 1, attempts: 2, reason: 'engine exploded' } });
    expect(logger.lines.filter((l) => l.message === 'chunk_transcribed').map((l) => l.fields.seq)).toEqual([2]);
  });

  // Seen in a live soak stopped by SIGTERM: chunks the live path handed back reached the queue after
  // it was drained, and their retry started a fresh decoder that kept echolog running for minutes.
  it('a chunk enqueued after drain is left and said so: the closed engine is never started again', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const logger = recordingLogger();
    const engine = new ScriptedEngine(0);
    const q = new ChunkTranscriber({
      engine,
      engineName: 'scripted',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store: new TranscriptStore(dir),
      logger,
      retryBaseMs: 10,
    });
    expect(await q.drain(1000)).toEqual([]);
    q.enqueue(writeChunk(dir, 1, 0.5, 3000));
    await q.idle();
    expect(engine.starts).toBe(0);
    expect(engine.fed).toEqual([]);
    expect(logger.lines.find((l) => l.message === 'chunk_transcription_failed')).toMatchObject({
      level: 'warning',
      fields: { seq: 1, reason: 'the transcription queue had stopped' },
    });
  });

  it('an engine slower than real time: one WARNING with the ratio; drain gives up after its timeout and names what is left', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const logger = recordingLogger();
    const warnings: string[] = [];
    const q = new ChunkTranscriber({
      engine: new ScriptedEngine(0, 200),
      engineName: 'scripted',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store: new TranscriptStore(dir),
      logger,
      onWarning: (m) => warnings.push(m),
    });
    for (let seq = 1; seq <= 8; seq++) q.enqueue(writeChunk(dir, seq, 0.1, 3000));
    expect(q.progress.pending_chunks).toBeGreaterThan(0);
    const left = await q.drain(1100);
    expect(left.length).toBeGreaterThan(0);
    expect(left.at(-1)).toBe(8);
    const behind = logger.lines.filter((l) => l.message === 'transcription_behind');
    expect(behind).toHaveLength(1);
    expect(Number(behind[0]!.fields.ratio)).toBeGreaterThan(1);
    expect(warnings).toHaveLength(1);
  });

  it('without an engine, every chunk is left for `echolog transcribe`', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'q-'));
    const q = new ChunkTranscriber({
      engine: undefined,
      engineName: 'pocketsphinx',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store: new TranscriptStore(dir),
      logger: recordingLogger(),
    });
    q.enqueue(writeChunk(dir, 1, 0.1, 3000));
    q.enqueue(writeChunk(dir, 2, 0.1, 3000));
    expect(await q.drain(1000)).toEqual([1, 2]);
    expect(q.progress.state).toBe('stopped');
  });
});

describe('readiness (seed 001) and the debug dump (seed 000)', () => {
  const hanging: TranscriptionEngine = {
    name: 'whisper',
    model: 'tiny.en',
    start: () => new Promise(() => undefined),
    transcribe: async () => [],
    flush: async () => [],
    close: async () => undefined,
  };
  const deps: EngineDeps = {
    loadWhisper: async () => ({ whisperAvailability: async () => ({ available: true }), createWhisperEngine: () => hanging }),
    findPocketsphinx: () => undefined,
    findStreamDecoder: async () => ({ unavailable: 'not asked' }),
  };

  /** Attaches a component to a session of its own in a temp folder; returns what it logged and said. */
  function attachTo(component: TranscriptionComponent) {
    const logger = recordingLogger();
    const warnings: string[] = [];
    const dir = fs.mkdtempSync(path.join(tmp, 'component-'));
    component.attach({
      sessionId: 's',
      sessionDir: dir,
      sessionStart: new Date(0),
      // The component logs only through `logger()`: a stand-in for the session's log that records the lines.
      log: { logger: () => logger } as unknown as SessionContext['log'],
      notify: (event) => (event.type === 'warning' ? warnings.push(event.message) : undefined),
      updateManifest: async () => undefined,
      manifest: () => ({ stats: { audio_duration_seconds: 0 } }) as SessionManifest,
    });
    return { logger, warnings };
  }

  it('prepare only picks the engine: recording never waits for it to load', async () => {
    const component = new TranscriptionComponent(
      config({ engine: 'whisper', ready_timeout: 60 }),
      {},
      { realTime: false, ffmpegPath: 'ffmpeg' },
      deps,
    );
    const started = Date.now();
    const prepared = await component.prepare();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(prepared.startFields).toEqual({ transcription_engine: 'whisper', transcription_model: 'tiny.en' });
    expect(prepared.deferred).toEqual([]);
  });

  it('an engine not ready within ready_timeout: a WARNING once it is given up, and the session goes on', async () => {
    const component = new TranscriptionComponent(
      config({ engine: 'whisper', ready_timeout: 0.2 }),
      {},
      { realTime: false, ffmpegPath: 'ffmpeg' },
      deps,
    );
    await component.prepare();
    const { logger, warnings } = attachTo(component);
    await component.start();
    expect(logger.lines).toEqual([
      {
        level: 'warning',
        message: 'transcription_unavailable',
        fields: expect.objectContaining({
          engine: 'whisper',
          ready_timeout: 0.2,
          reason: expect.stringMatching(/took longer than 200 ms/),
        }),
      },
    ]);
    expect(warnings).toEqual([expect.stringMatching(/^recording without transcription: the whisper engine did not start/)]);
  });

  it('with transcription.required, the same failure rejects start (the session then stops)', async () => {
    const component = new TranscriptionComponent(
      config({ engine: 'whisper', ready_timeout: 0.2, required: true }),
      {},
      { realTime: false, ffmpegPath: 'ffmpeg' },
      deps,
    );
    await component.prepare();
    attachTo(component);
    await expect(component.start()).rejects.toThrow(/transcription\.required is set, but the whisper engine failed to start within 0\.2 s/);
    await expect(component.start()).rejects.toThrow(TranscriptionError);
  });

  it('a live stream decoder that cannot start: the CLI takes over per chunk, with a warning, and the session is transcribed', async () => {
    // A FAKE stream decoder that dies at once, as one whose library cannot load would.
    const fake = path.join(tmp, 'pocketsphinx-stream-decoder.js');
    fs.writeFileSync(fake, "process.stderr.write('fake stream decoder: libpocketsphinx.so.3 cannot be loaded\\n'); process.exit(1);\n");
    const pocketsphinxDeps: EngineDeps = {
      ...deps,
      findPocketsphinx: () => ({ variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' }),
      findStreamDecoder: async () => ({ variant: 'stream', path: process.execPath, script: fake }),
    };
    const component = new TranscriptionComponent(
      config({ engine: 'pocketsphinx', ready_timeout: 30 }),
      {},
      { realTime: true, ffmpegPath: 'ffmpeg' },
      pocketsphinxDeps,
    );
    expect((await component.prepare()).startFields).toMatchObject({ transcription_engine: 'pocketsphinx', partial_text: 'on' });
    const { logger, warnings } = attachTo(component);
    await component.start();
    expect(warnings).toEqual([
      expect.stringMatching(
        /^no live transcript: the live decoder did not start \(pocketsphinx-stream-decoder exited with code 1: fake stream decoder: libpocketsphinx\.so\.3 cannot be loaded\); transcribing per chunk$/,
      ),
    ]);
    expect(logger.lines).toEqual([
      { level: 'info', message: 'transcription_ready', fields: expect.objectContaining({ engine: 'pocketsphinx', model: 'en-us' }) },
    ]);
    await component.finish();
  });

  it('the dump is off unless ECHOLOG_DEBUG_AUDIO_DUMP=1; a dump that cannot be created is logged once and never throws', async () => {
    const logger = recordingLogger();
    const base = { sessionDir: tmp, sessionId: 's', source: 'input', now: new Date(0), logger };
    expect(DebugAudioDump.fromEnv({}, base)).toBeUndefined();
    const blocker = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const dump = DebugAudioDump.fromEnv({ ECHOLOG_DEBUG_AUDIO_DUMP: '1', ECHOLOG_DEBUG_AUDIO_DUMP_DIR: blocker }, base)!;
    await dump.write(Buffer.alloc(10));
    await dump.write(Buffer.alloc(10));
    await dump.close();
    expect(logger.lines).toEqual([
      {
        level: 'warning',
        message: 'debug_audio_dump_failed',
        fields: expect.objectContaining({ stage: 'open', reason: expect.stringMatching(/EEXIST|ENOTDIR/) }),
      },
    ]);
  });

  it('writes every chunk handed to it, in order, to <dir>/<session>_<source>_<time>.pcm', async () => {
    const logger = recordingLogger();
    const dump = DebugAudioDump.fromEnv(
      { ECHOLOG_DEBUG_AUDIO_DUMP: '1', ECHOLOG_DEBUG_AUDIO_DUMP_DIR: 'dumps' },
      { sessionDir: tmp, sessionId: 's', source: 'input', now: new Date(0), logger },
    )!;
    expect(dump.file).toBe(path.join(tmp, 'dumps', 's_input_19700101T000000Z.pcm'));
    await dump.write(Buffer.from([1, 2]));
    expect(fs.readFileSync(dump.file)).toEqual(Buffer.from([1, 2])); // written through before the next chunk
    await dump.write(Buffer.from([3]));
    await dump.close();
    expect(fs.readFileSync(dump.file)).toEqual(Buffer.from([1, 2, 3]));
    expect(logger.lines.map((l) => l.message)).toEqual(['debug_audio_dump_enabled', 'debug_audio_dump_closed']);
  });
});

describe('transcript times', () => {
  it('are written rounded to the millisecond, words included, whatever float sums the callers pass', async () => {
    const { formatTranscriptLine } = await import('../src/transcription/transcript/transcript-formats.js');
    const line = JSON.parse(
      formatTranscriptLine({
        seq: 4,
        start: 6.0129375000000005,
        end: 8.017937500000001,
        text: 'hi',
        engine: 'e',
        latency_ms: 3,
        words: [{ word: 'hi', start: 6.1000000000000005, end: 6.3999999 }],
      }),
    );
    expect(line).toMatchObject({ start: 6.013, end: 8.018, words: [{ word: 'hi', start: 6.1, end: 6.4 }] });
  });
});

describe('engine audio in bounded pieces (src/audio/engine-audio.ts)', () => {
  /** A real WAV by ffmpeg: a 440 Hz tone at `rate` Hz with `channels` channels. */
  function toneWav(
    name: string,
    seconds: number,
    rate: number,
    channels: number,
  ): { file: string; wav: ReturnType<typeof parseWavHeader> } {
    const file = path.join(tmp, `${name}.wav`);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:duration=${seconds}`,
      '-ar',
      String(rate),
      '-ac',
      String(channels),
      '-c:a',
      'pcm_s16le',
      file,
    ]);
    return { file, wav: parseWavHeader(fs.readFileSync(file).subarray(0, 4096)) };
  }

  it('the level over pieces split anywhere (mid-sample, mid-window) equals the level of the whole', () => {
    const samples = Array.from({ length: 48000 }, (_, i) => Math.round(Math.sin(i / 7) * (i > 30000 && i < 31000 ? 20000 : 300)));
    const whole = pcmOf(samples);
    const meter = new LevelMeter(48000, 2);
    for (let at = 0, size = 1; at < whole.length; at += size, size = (size * 7 + 3) % 5001) meter.push(whole.subarray(at, at + size));
    expect(meter.level()).toEqual(measureLevel(whole, 48000, 2));
  });

  it('a 48 kHz stereo chunk is decoded by ffmpeg to 16 kHz mono, in pieces never above the bound', async () => {
    const { file, wav } = toneWav('stereo48', 6, 48000, 2);
    const sizes: number[] = [];
    const meter = new LevelMeter(16000);
    const recorded = await measureFileLevel(file, wav);
    for await (const piece of engineAudioPieces(file, wav, { sampleRate: 16000 }, 'ffmpeg', { pieceBytes: 4096 })) {
      sizes.push(piece.length);
      meter.push(piece);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    expect(sizes.every((n) => n % 2 === 0)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6 * 16000 * 2);
    // The tone survived the downmix (two equal channels: the same level) and the resampling.
    expect(meter.level().rmsDb).toBeCloseTo(recorded.rmsDb, 0);
  });

  it('a chunk already in the engine format is read as it is, without ffmpeg, piece by piece', async () => {
    const { file, wav } = toneWav('mono16', 3, 16000, 1);
    const pieces: Buffer[] = [];
    for await (const piece of engineAudioPieces(file, wav, { sampleRate: 16000 }, '/nonexistent/ffmpeg', { pieceBytes: 1000 }))
      pieces.push(piece);
    expect(Math.max(...pieces.map((p) => p.length))).toBe(1000);
    expect(byteDifference(Buffer.concat(pieces), fs.readFileSync(file).subarray(wav.dataOffset, wav.dataOffset + wav.dataBytes))).toBe(
      'same',
    );
  });

  it('an abort between pieces ends the decode and its ffmpeg; a file ffmpeg cannot read is an AudioDecodeError', async () => {
    const { file, wav } = toneWav('abort', 30, 44100, 2);
    const abort = new AbortController();
    const reading = (async () => {
      for await (const _piece of decodePieces('ffmpeg', file, { sampleRate: 16000 }, { signal: abort.signal }))
        abort.abort(new Error('stop here'));
    })();
    await expect(reading).rejects.toThrow('stop here');
    expect(processesMatching('ffmpeg', file)).toEqual([]);
    const garbage = path.join(tmp, 'garbage.wav');
    fs.writeFileSync(garbage, 'not audio at all');
    const decoding = (async () => {
      for await (const _piece of engineAudioPieces(garbage, { ...wav, sampleRate: 44100 }, { sampleRate: 16000 }, 'ffmpeg'));
    })();
    await expect(decoding).rejects.toThrow(AudioDecodeError);
    await expect(decoding).rejects.toThrow(/could not decode .*garbage\.wav: ffmpeg exited with code 1: /);
  });

  it('the per-chunk path: a 48 kHz stereo chunk reaches the engine as 16 kHz mono pieces of at most 64 KiB, and the debug dump holds exactly those', async () => {
    const { file, wav } = toneWav('chunk48', 40, 48000, 2);
    const got: Buffer[] = [];
    const engine: TranscriptionEngine = {
      name: 'counting',
      model: 'm',
      audioFormat: { sampleRate: 16000 },
      start: async () => undefined,
      async transcribe(chunk) {
        for await (const piece of chunk.audio()) got.push(Buffer.from(piece));
        return [{ start: chunk.offsetSeconds, end: chunk.offsetSeconds + 1, text: 'tone' }];
      },
      flush: async () => [],
      close: async () => undefined,
    };
    const dir = fs.mkdtempSync(path.join(tmp, 'bounded-'));
    const logger = recordingLogger();
    const dump = DebugAudioDump.fromEnv(
      { ECHOLOG_DEBUG_AUDIO_DUMP: '1' },
      { sessionDir: dir, sessionId: 's', source: 'input', now: new Date(0), logger },
    )!;
    const q = new ChunkTranscriber({
      engine,
      engineName: 'counting',
      config: config().transcription,
      ffmpegPath: 'ffmpeg',
      store: new TranscriptStore(dir),
      logger,
      dump,
    });
    const size = fs.statSync(file).size;
    q.enqueue({
      seq: 1,
      file: path.basename(file),
      path: file,
      sizeBytes: size,
      durationSeconds: 40,
      offsetSeconds: 0,
      startTime: new Date(0),
      endTime: new Date(40_000),
      wav,
    });
    expect(await q.drain(30_000)).toEqual([]);
    await dump.close();
    expect(Math.max(...got.map((p) => p.length))).toBeLessThanOrEqual(PIECE_BYTES);
    expect(got.reduce((n, p) => n + p.length, 0)).toBe(40 * 16000 * 2);
    expect(byteDifference(fs.readFileSync(dump.file), Buffer.concat(got))).toBe('same');
  });
});

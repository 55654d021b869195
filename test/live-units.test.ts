import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../src/logging/session-log.js';
import type { Chunk } from '../src/recorder/chunk.js';
import { buildLiveAudioArgs } from '../src/recorder/ffmpeg-args.js';
import type { LiveEngine, TranscriptSegment } from '../src/transcription/engines/engine.js';
import { LiveAudioFeed, type LiveBlock } from '../src/transcription/live/live-audio-feed.js';
import { LiveTranscriber } from '../src/transcription/live/live-transcriber.js';
import { chunkContribution, forgetSettledPlaces, seqAtTime } from '../src/transcription/live/live-timeline.js';
import { StreamTimeline } from '../src/transcription/engines/pocketsphinx-output.js';
import type { TranscriptLine } from '../src/transcription/transcript/transcript-formats.js';
import { TranscriptStore } from '../src/transcription/transcript/transcript-store.js';

/** 8 kHz mono s16le in these tests: 16000 bytes a second. */
const RATE = 8000;
const bytes = (seconds: number): Buffer => Buffer.alloc(Math.round(seconds * RATE) * 2);

describe('buildLiveAudioArgs', () => {
  it('raw mono PCM to stdout at the engine rate, flushed per packet', () => {
    expect(buildLiveAudioArgs({ sampleRate: 16000, durationSeconds: undefined })).toEqual([
      '-vn',
      '-ac',
      '1',
      '-ar',
      '16000',
      '-c:a',
      'pcm_s16le',
      '-f',
      's16le',
      '-flush_packets',
      '1',
      'pipe:1',
    ]);
  });
  it('repeats -t: an output option binds to the output after it only', () => {
    expect(buildLiveAudioArgs({ sampleRate: 16000, durationSeconds: 5 }).slice(0, 2)).toEqual(['-t', '5']);
  });
});

describe('LiveAudioFeed', () => {
  it('places each read in session time and hands blocks over in order', () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 10 });
    feed.push(bytes(0.5), 1000);
    feed.push(bytes(0.25), 1500);
    expect(feed.capturedSeconds).toBe(0.75);
    expect(feed.bufferedSeconds).toBe(0.75);
    expect(feed.take()).toMatchObject({ sessionStart: 0 });
    expect(feed.take()).toMatchObject({ sessionStart: 0.5 });
    expect(feed.take()).toBeUndefined();
    expect(feed.bufferedSeconds).toBe(0);
  });

  it('keeps a sample split across two reads whole', () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 10 });
    feed.push(Buffer.from([1, 2, 3]), 0);
    feed.push(Buffer.from([4, 5]), 0);
    expect([...(feed.take() as LiveBlock).pcm]).toEqual([1, 2]);
    expect([...(feed.take() as LiveBlock).pcm]).toEqual([3, 4]);
    expect(feed.capturedSeconds).toBe(2 / RATE); // two whole samples; the fifth byte waits for its pair
  });

  it('past its bound drops new audio, counts it and keeps where it was (merged stretches)', () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 1 });
    feed.push(bytes(0.75), 0);
    feed.push(bytes(0.5), 0); // would make 1.25 s waiting: dropped
    feed.push(bytes(0.5), 0); // still full: dropped, same stretch
    expect(feed.droppedSeconds).toBe(1);
    expect(feed.drops).toEqual([{ start: 0.75, end: 1.75 }]);
    feed.take();
    feed.push(bytes(0.25), 0); // room again: kept
    expect(feed.take()).toMatchObject({ sessionStart: 1.75 });
    expect(feed.droppedWithin({ start: 0, end: 0.75 })).toBe(false);
    expect(feed.droppedWithin({ start: 1, end: 2 })).toBe(true);
    expect(feed.droppedWithin({ start: 1.75, end: 3 })).toBe(false);
  });

  it('knows when the audio at a session second was read, and forgets what is final', () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 10 });
    feed.push(bytes(1), 5000);
    feed.push(bytes(1), 6000);
    expect(feed.capturedAt(0.4)).toBe(5000);
    expect(feed.capturedAt(1)).toBe(5000);
    expect(feed.capturedAt(1.2)).toBe(6000);
    expect(feed.capturedAt(2.5)).toBeUndefined();
    feed.forgetBefore(1.5);
    expect(feed.capturedAt(1.8)).toBe(6000);
  });
});

describe('LiveAudioFeed across ffmpeg runs', () => {
  it('places each run from its own start, with a gap between runs, queued even when audio is being dropped', () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 1 });
    feed.beginRun(0.02);
    feed.push(bytes(0.75), 1000);
    feed.push(bytes(0.5), 1500); // past the bound: dropped
    feed.push(Buffer.from([7]), 1500); // half a sample, never completed: the run dies
    feed.beginRun(3.5);
    feed.push(bytes(0.25), 4000);
    expect(feed.capturedSeconds).toBe(1.5);
    expect(feed.capturedUntil).toBe(3.75);
    expect(feed.drops).toEqual([{ start: 0.77, end: 1.27 }]);
    expect(feed.take()).toMatchObject({ sessionStart: 0.02 });
    expect(feed.take()).toEqual({ sessionStart: 1.27, resumesAt: 3.5 });
    const run2 = feed.take() as LiveBlock;
    expect(run2).toMatchObject({ sessionStart: 3.5 });
    expect(run2.pcm.length).toBe(bytes(0.25).length);
    expect(feed.take()).toBeUndefined();
    // Read times follow the runs: the audio at 3.6 s came with run 2's read.
    expect(feed.capturedAt(1)).toBe(1500);
    expect(feed.capturedAt(3.6)).toBe(4000);
  });

  it("one gap however many runs gave no audio; none before the first run's audio", () => {
    const feed = new LiveAudioFeed({ sampleRate: RATE, maxBufferedSeconds: 10 });
    feed.beginRun(0.1);
    feed.beginRun(0.5); // the first run died before any audio: nothing to break
    feed.push(bytes(1), 0);
    feed.beginRun(2); // failed to open the device
    feed.beginRun(3);
    expect(feed.capturedUntil).toBe(1.5); // nothing read since: no lag grows while the device is gone
    feed.push(bytes(1), 0);
    const taken = [feed.take(), feed.take(), feed.take(), feed.take()];
    expect(taken).toEqual([
      expect.objectContaining({ sessionStart: 0.5 }),
      { sessionStart: 1.5, resumesAt: 2 },
      expect.objectContaining({ sessionStart: 3 }),
      undefined,
    ]);
  });
});

describe('seqAtTime', () => {
  const places = [
    { seq: 1, start: 0, end: 10.112 },
    { seq: 2, start: 10.112, end: 20.096 },
  ];
  it('a known chunk, by its true bounds', () => {
    expect(seqAtTime(places, 0, 10)).toBe(1);
    expect(seqAtTime(places, 10.05, 10)).toBe(1);
    expect(seqAtTime(places, 10.112, 10)).toBe(2);
  });
  it('past the chunks known: counted on by the segment length', () => {
    expect(seqAtTime(places, 20.1, 10)).toBe(3);
    expect(seqAtTime(places, 30.2, 10)).toBe(4);
    expect(seqAtTime([], 12, 10)).toBe(2);
  });
});

describe('forgetSettledPlaces: the live places hold the unsettled chunks, not the session (issue 19 §3)', () => {
  const day = (): Array<{ seq: number; start: number; end: number }> =>
    Array.from({ length: 8640 }, (_, i) => ({ seq: i + 1, start: i * 10, end: (i + 1) * 10 }));
  it('keeps the last settled chunk and those after it; text there is still placed as before', () => {
    const places = day();
    forgetSettledPlaces(places, 86_000);
    expect(places.map((p) => p.seq)).toEqual([8600, ...Array.from({ length: 40 }, (_, i) => 8601 + i)]);
    expect(seqAtTime(places, 85_999.99, 10)).toBe(8600);
    expect(seqAtTime(places, 86_000, 10)).toBe(8601);
    expect(seqAtTime(places, 86_400, 10)).toBe(8641);
  });
  it('settled to the last chunk known: one place left; before the first chunk ends, none dropped', () => {
    const places = day();
    forgetSettledPlaces(places, 86_400);
    expect(places).toEqual([{ seq: 8640, start: 86_390, end: 86_400 }]);
    const early = day().slice(0, 3);
    forgetSettledPlaces(early, 9.5);
    expect(early.map((p) => p.seq)).toEqual([1, 2, 3]);
  });
});

describe('chunkContribution', () => {
  const line = (start: number, words: Array<[string, number]>): TranscriptLine => ({
    seq: 1,
    start,
    end: words.at(-1)![1] + 0.3,
    text: words.map((w) => w[0]).join(' '),
    engine: 'pocketsphinx',
    latency_ms: 0,
    words: words.map(([word, s]) => ({ word, start: s, end: s + 0.3 })),
  });
  it('counts the words that lie in the chunk, wherever their utterance starts', () => {
    const lines = [
      line(8, [
        ['please', 9.2],
        ['remember', 9.6],
        ['water', 10.4],
      ]),
    ];
    expect(chunkContribution(lines, { seq: 1, start: 0, end: 10 })).toEqual({ utterances: 1, words: 2, chars: 'please remember'.length });
    expect(chunkContribution(lines, { seq: 2, start: 10, end: 20 })).toEqual({ utterances: 1, words: 1, chars: 'water'.length });
    expect(chunkContribution(lines, { seq: 3, start: 20, end: 30 })).toEqual({ utterances: 0, words: 0, chars: 0 });
  });
});

describe('StreamTimeline with live audio', () => {
  it('one piece for unbroken audio; added silence takes stream time and no session time', () => {
    const timeline = new StreamTimeline();
    timeline.append(0, 0, 1);
    timeline.append(0, 1, 1);
    timeline.append(0, 2, 1, 0); // a cut: 1 s of silence at session second 2
    timeline.append(0, 2, 2);
    expect(timeline.fedSeconds).toBe(5);
    expect(timeline.toSession(1.5)).toBe(1.5);
    expect(timeline.toSession(2.5)).toBe(2);
    expect(timeline.toSession(3.5)).toBe(2.5);
  });
  it('a gap (dropped audio) is its own piece', () => {
    const timeline = new StreamTimeline();
    timeline.append(0, 0, 1);
    timeline.append(0, 5, 1);
    expect(timeline.toSession(1.5)).toBe(5.5);
  });
});

/**
 * LiveTranscriber against a scripted LiveEngine (it reads everything at once and says so), with the
 * real TranscriptStore: when chunks settle, when silence is added, and the hand-over on failure.
 * The real decoder is in live-transcription-e2e.test.ts.
 */
class ScriptedLiveEngine implements LiveEngine {
  readonly name = 'scripted';
  readonly model = 'm';
  readonly audioFormat = { sampleRate: RATE };
  readonly writes: Array<{ sessionStart: number; seconds: number; sessionSeconds: number | undefined }> = [];
  read = 0;
  failWrites = false;
  closed = 0;
  private onSegment: ((segment: TranscriptSegment) => void) | undefined;
  async start(): Promise<void> {}
  async transcribe(): Promise<TranscriptSegment[]> {
    return [];
  }
  async flush(): Promise<TranscriptSegment[]> {
    return [];
  }
  async close(): Promise<void> {
    this.closed++;
  }
  beginLive(onSegment: (segment: TranscriptSegment) => void): void {
    this.onSegment = onSegment;
  }
  async writeLive(pcm: Buffer, sessionStart: number): Promise<void> {
    this.record(sessionStart, pcm.length / 2 / RATE, undefined);
  }
  /** A break as pocketsphinx's: 1 s of stream, no session time. */
  async writeBreak(sessionAt: number): Promise<number> {
    this.record(sessionAt, 1, 0);
    return 1;
  }
  private record(sessionStart: number, seconds: number, sessionSeconds: number | undefined): void {
    if (this.failWrites) throw new Error('decoder died');
    this.writes.push({ sessionStart, seconds, sessionSeconds });
    this.read += seconds;
  }
  /** What the decoder has read, at most: a decoder behind the writes (a loaded machine). */
  readCap = Infinity;
  async streamSecondsRead(): Promise<number> {
    return Math.min(this.read, this.readCap);
  }
  say(segment: TranscriptSegment): void {
    this.onSegment!(segment);
  }
}

function tone(seconds: number): Buffer {
  const pcm = bytes(seconds);
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(i % 2 ? 8000 : -8000, i * 2);
  return pcm;
}

function placedChunk(seq: number, start: number, seconds: number): Chunk {
  return {
    seq,
    file: `chunk_${seq}.wav`,
    path: `/nonexistent/chunk_${seq}.wav`,
    sizeBytes: 0,
    durationSeconds: seconds,
    offsetSeconds: start,
    startTime: new Date(0),
    endTime: new Date(0),
    wav: { sampleRate: RATE, channels: 1, bitsPerSample: 16, dataBytes: 0, dataOffset: 44, riffFileBytes: 44 },
  };
}

function quietLogger(): Logger & { messages: string[]; fieldsOf: (message: string) => Record<string, unknown> | undefined } {
  const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const at =
    () =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ message, fields });
  return {
    get messages() {
      return lines.map((l) => l.message);
    },
    fieldsOf: (message) => lines.find((l) => l.message === message)?.fields,
    debug: at(),
    info: at(),
    warning: at(),
    error: at(),
  };
}

describe('LiveTranscriber', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  function setUp(cutAfterSeconds = 3): {
    engine: ScriptedLiveEngine;
    live: LiveTranscriber;
    stdout: PassThrough;
    store: TranscriptStore;
    fallback: Chunk[];
    logger: ReturnType<typeof quietLogger>;
  } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-live-'));
    dirs.push(dir);
    const engine = new ScriptedLiveEngine();
    const store = new TranscriptStore(dir);
    const fallback: Chunk[] = [];
    const logger = quietLogger();
    const live = new LiveTranscriber({
      engine,
      engineName: 'scripted',
      segmentTime: 2,
      silenceThresholdDb: -50,
      store,
      logger,
      cutAfterSeconds,
      onFallback: (c) => fallback.push(...c),
    });
    const stdout = new PassThrough();
    live.attach(stdout, 0);
    return { engine, live, stdout, store, fallback, logger };
  }
  /** Waits for what the transcriber's ticker does next: `check` passes, or it fails after 5 s (no fixed sleeps). */
  const until = (check: () => unknown): Promise<unknown> => vi.waitFor(check, { timeout: 5000, interval: 20 });
  /** Only to show that something does not happen; every positive wait is `until`. */
  const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const transcribedSeqs = async (store: TranscriptStore) => (await store.read()).filter((l) => l.chunk === 'transcribed').map((l) => l.seq);

  it('sound without an utterance end: silence is added after the bound (stream time only), then the chunk settles', async () => {
    const { engine, live, stdout, store } = setUp(3);
    stdout.write(tone(4));
    live.onChunk(placedChunk(1, 0, 2));
    await until(async () => expect(await transcribedSeqs(store)).toEqual([1]));
    const cut = engine.writes.find((w) => w.sessionSeconds === 0);
    expect(cut).toMatchObject({ sessionStart: 4, seconds: 1 });
    expect(await live.end(1000)).toEqual([]);
  });

  it('a decoder behind the writes gets no silence until it has itself heard the bound without an utterance end (issue 18)', async () => {
    const { engine, live, stdout, store } = setUp(3);
    engine.readCap = 2.5;
    stdout.write(tone(4));
    live.onChunk(placedChunk(1, 0, 2));
    // 4 s written, 2.5 s heard: a cut now would land where the decoder may yet find an utterance end.
    // A negative can only be seen over time: several of the transcriber's 200 ms ticks.
    await quiet(700);
    expect(engine.writes.some((w) => w.sessionSeconds === 0)).toBe(false);
    engine.readCap = Infinity;
    await until(() => expect(engine.writes.find((w) => w.sessionSeconds === 0)).toMatchObject({ sessionStart: 4, seconds: 1 }));
    await until(async () => expect(await transcribedSeqs(store)).toEqual([1]));
    await live.end(1000);
  });

  it("the stream decoder's idle mark (an utterance without text) settles the chunk: no silence added in room tone (issue 18)", async () => {
    const { engine, live, stdout, store } = setUp(3);
    // Room tone is sound to echolog's level gate; the decoder has heard 2.5 s of it, idle.
    engine.readCap = 2.5;
    stdout.write(tone(4));
    live.onChunk(placedChunk(1, 0, 2));
    // Once the decoder has the audio it can say something about it.
    await until(() => expect(engine.writes.length).toBeGreaterThan(0));
    engine.say({ start: 2.2, end: 2.2, text: '' });
    await until(async () => expect((await store.read()).map((l) => [l.seq, l.chunk])).toEqual([[1, 'transcribed']]));
    expect(engine.writes.some((w) => w.sessionSeconds === 0)).toBe(false);
    await live.end(1000);
  });

  it('a second of silence in the audio settles the chunk with no silence added', async () => {
    const { engine, live, stdout, store } = setUp(3);
    stdout.write(tone(0.5));
    stdout.write(bytes(1.5));
    live.onChunk(placedChunk(1, 0, 2));
    await until(async () => expect(await transcribedSeqs(store)).toEqual([1]));
    expect(engine.writes.some((w) => w.sessionSeconds === 0)).toBe(false);
    expect((await store.read()).map((l) => [l.seq, l.chunk])).toEqual([[1, 'transcribed']]);
    await live.end(1000);
  });

  it('an utterance is written at once, named by the chunks it spans, with what each chunk contributed', async () => {
    const { engine, live, stdout, store, logger } = setUp(30);
    stdout.write(tone(3));
    await until(() => expect(engine.read).toBe(3));
    live.onChunk(placedChunk(1, 0, 2));
    engine.say({
      start: 1.5,
      end: 2.6,
      text: 'across the boundary',
      words: [
        { word: 'across', start: 1.5, end: 1.9 },
        { word: 'the', start: 1.9, end: 2.1 },
        { word: 'boundary', start: 2.1, end: 2.6 },
      ],
    });
    await until(async () => expect(await transcribedSeqs(store)).toEqual([1]));
    const lines = await store.read();
    expect(lines[0]).toMatchObject({ seq: 1, seqs: [1, 2], text: 'across the boundary' });
    expect(lines[0]!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(lines.filter((l) => l.chunk).map((l) => l.seq)).toEqual([1]);
    // "across the" lie in chunk 1; "boundary" starts in chunk 2.
    expect(logger.fieldsOf('chunk_transcribed')).toMatchObject({
      seq: 1,
      mode: 'live',
      words: 2,
      chars: 'across the'.length,
      utterances: 1,
    });
    await live.end(1000);
  });

  it('a capture restart: silence between the runs (no utterance joins them, no cut counted), run 2 placed at its anchor, the chunk before the gap settled', async () => {
    const { engine, live, stdout, store, logger } = setUp(30);
    stdout.write(tone(1.5));
    live.onChunk(placedChunk(1, 0, 1));
    // Run 1's last chunk (repaired after the kill) holds a little more than its live output did.
    live.onChunk(placedChunk(2, 1, 0.6));
    await until(() => expect(engine.read).toBe(1.5));
    const run2 = new PassThrough();
    live.attach(run2, 4);
    run2.write(tone(0.5));
    await until(async () => expect(await transcribedSeqs(store)).toEqual([1, 2]));
    expect(engine.writes).toEqual([
      { sessionStart: 0, seconds: 1.5, sessionSeconds: undefined },
      { sessionStart: 1.5, seconds: 1, sessionSeconds: 0 },
      { sessionStart: 4, seconds: 0.5, sessionSeconds: undefined },
    ]);
    // Once the decoder read the silence, nothing before run 2 can still be coming: both chunks settle.
    expect((await store.read()).filter((l) => l.chunk === 'transcribed').map((l) => l.seq)).toEqual([1, 2]);
    await live.end(1000);
    expect(logger.fieldsOf('live_transcription_end')).toMatchObject({ captured_s: 2, cuts: 0 });
  });

  it('a decoder that fails: closed, and the unfinished chunks go to the per-chunk fallback', async () => {
    const { engine, live, stdout, fallback, logger } = setUp(30);
    engine.failWrites = true;
    live.onChunk(placedChunk(1, 0, 2));
    stdout.write(tone(1));
    await until(() => expect(fallback.map((c) => c.seq)).toEqual([1]));
    expect(logger.messages).toContain('live_transcription_stopped');
    expect(engine.closed).toBe(1);
    expect(fallback.map((c) => c.seq)).toEqual([1]);
    live.onChunk(placedChunk(2, 2, 2));
    await until(() => expect(fallback.map((c) => c.seq)).toEqual([1, 2]));
    expect(fallback.map((c) => c.seq)).toEqual([1, 2]);
    expect(await live.end(1000)).toEqual([]);
  });
});

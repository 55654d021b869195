import { describe, expect, it } from 'vitest';
import { buildLiveAudioArgs } from '../src/recorder/ffmpeg-args.js';
import { LiveAudioFeed } from '../src/transcription/live-audio-feed.js';
import { chunkContribution, seqAtTime } from '../src/transcription/live-timeline.js';
import { StreamTimeline } from '../src/transcription/pocketsphinx-output.js';
import type { TranscriptLine } from '../src/transcription/transcript-formats.js';

/** 8 kHz mono s16le in these tests: 16000 bytes a second. */
const RATE = 8000;
const bytes = (seconds: number): Buffer => Buffer.alloc(Math.round(seconds * RATE) * 2);

describe('buildLiveAudioArgs', () => {
  it('raw mono PCM to stdout at the engine rate, flushed per packet', () => {
    expect(buildLiveAudioArgs({ sampleRate: 16000, durationSeconds: undefined })).toEqual(['-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 's16le', '-flush_packets', '1', 'pipe:1']);
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
    expect([...feed.take()!.pcm]).toEqual([1, 2]);
    expect([...feed.take()!.pcm]).toEqual([3, 4]);
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
    const lines = [line(8, [['please', 9.2], ['remember', 9.6], ['water', 10.4]])];
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

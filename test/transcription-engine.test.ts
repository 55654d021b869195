import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineChunk } from '../src/transcription/engines/engine.js';
import { PocketsphinxEngine } from '../src/transcription/engines/pocketsphinx-engine.js';
import { execFileAsync, makeSandbox, makeSpeech } from './helpers/cli.js';
import { engineChunkOf } from './helpers/engine-chunk.js';

/** The real pocketsphinx_continuous, driven directly through the engine interface. */
const box = makeSandbox();
afterAll(() => box.cleanup());

async function pcmOf(text: string, name: string): Promise<Buffer> {
  const wav = await makeSpeech(text, path.join(box.root, `${name}.wav`));
  const raw = path.join(box.root, `${name}.raw`);
  await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', wav, '-f', 's16le', raw]);
  return fs.readFileSync(raw);
}

const chunk = (seq: number, offsetSeconds: number, pcm: Buffer): EngineChunk => engineChunkOf(seq, offsetSeconds, pcm);

describe('PocketsphinxEngine with the real decoder', () => {
  it('maps utterance times to session time across a chunk it never saw, and holds text in progress until flush', async () => {
    const silence = Buffer.alloc(32000); // 1 s: ends the utterance before it
    const hello = Buffer.concat([await pcmOf('hello world', 'a'), silence]);
    const morning = await pcmOf('good morning', 'b');
    const engine = new PocketsphinxEngine({
      binary: { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' },
      sampleRate: 16000,
    });
    await engine.start();
    try {
      const first = await engine.transcribe(chunk(1, 0, hello));
      expect(first.map((s) => s.text)).toEqual(['hello world']);
      expect(engine.finalizedThrough()).toBeGreaterThan(0.5);
      // Chunk 2 (60 s of silence) was gated and never fed: chunk 3 starts at 60 + hello's length.
      const offset = 60 + hello.length / 32000;
      expect(await engine.transcribe(chunk(3, offset, morning))).toEqual([]); // no silence after it yet
      expect(engine.finalizedThrough()).toBeLessThan(offset);
      const held = await engine.flush();
      expect(held.map((s) => s.text)).toEqual(['good morning']);
      expect(held[0]!.start).toBeGreaterThanOrEqual(offset);
      expect(held[0]!.words!.map((w) => w.word)).toEqual(['good', 'morning']);
      expect(engine.finalizedThrough()).toBe(Infinity);
    } finally {
      await engine.close();
    }
  });

  it('a decoder killed mid-stream rejects the chunk with how it died', async () => {
    const engine = new PocketsphinxEngine({
      binary: { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' },
      sampleRate: 16000,
    });
    await engine.start();
    try {
      process.kill(engine.pid!, 'SIGKILL');
      await expect(engine.transcribe(chunk(1, 0, Buffer.alloc(320000)))).rejects.toThrow(/pocketsphinx_continuous was killed by SIGKILL/);
    } finally {
      await engine.close();
    }
  });
});

/**
 * echolog's stream decoder (libpocketsphinx through koffi), against the CLI it stands in for:
 * the same audio, fed the way the live path feeds it (small writes at no particular boundary).
 */
describe('the stream decoder', () => {
  const stream = {
    variant: 'stream' as const,
    path: process.execPath,
    script: path.resolve('dist/transcription/engines/pocketsphinx-stream-decoder.js'),
  };
  const cli = { variant: 'continuous' as const, path: '/usr/bin/pocketsphinx_continuous' };

  async function decodeLive(
    binary: typeof stream | typeof cli,
    pcm: Buffer,
  ): Promise<{ segments: Array<{ text: string; start: number; end: number }>; partials: string[]; order: string[] }> {
    const engine = new PocketsphinxEngine({ binary, sampleRate: 16000 });
    const segments: Array<{ text: string; start: number; end: number }> = [];
    const partials: string[] = [];
    const order: string[] = [];
    await engine.start();
    try {
      engine.beginLive(
        (segment) => {
          segments.push(segment);
          order.push(`final ${segment.text}`);
        },
        (text) => {
          partials.push(text);
          order.push(`partial ${text}`);
        },
      );
      // 0.1 s writes at 4× real time: the stream arrives in pieces, never at the decoder's block
      // boundaries, and slowly enough that the partials (at most one per 250 ms) have time to come.
      for (let at = 0; at < pcm.length; at += 3200) {
        await engine.writeLive(pcm.subarray(at, at + 3200), at / 32000);
        await sleep(25);
      }
      for (const segment of await engine.flush()) segments.push(segment);
    } finally {
      await engine.close();
    }
    return { segments, partials, order };
  }

  it('prints the utterances pocketsphinx_continuous prints, word for word and time for time, and partials only between them', async () => {
    const silence = Buffer.alloc(32000);
    const pcm = Buffer.concat([
      await pcmOf('we are going to talk about the weather today', 's1'),
      silence,
      await pcmOf('please remember to bring water', 's2'),
      silence,
    ]);
    const [ours, theirs] = await Promise.all([decodeLive(stream, pcm), decodeLive(cli, pcm)]);
    // Ours also says, between utterances, how far all is final (idle marks: segments without text).
    const spoken = ours.segments.filter((s) => s.text);
    const idle = ours.segments.filter((s) => !s.text);
    expect(idle.length).toBeGreaterThan(0);
    expect(idle.every((m) => !spoken.some((u) => m.end > u.start && m.end < u.end))).toBe(true);
    expect(spoken.length).toBeGreaterThanOrEqual(2);
    expect(spoken).toEqual(theirs.segments);
    expect(spoken.map((s) => s.text).join(' ')).toMatch(/weather.*water/);
    // The CLI has no partials; ours grows a hypothesis while each sentence is spoken, then clears it.
    expect(theirs.partials).toEqual([]);
    const firstFinal = ours.order.findIndex((e) => e.startsWith('final'));
    const before = ours.order.slice(0, firstFinal);
    expect(before.filter((e) => e.startsWith('partial ') && e.length > 'partial '.length).length).toBeGreaterThan(0);
    expect(before.at(-1)).toBe('partial ');
  });

  it('the program: input ending mid-sentence still ends with the partial cleared and the utterance; bad options exit 2 naming them', async () => {
    const raw = path.join(box.root, 'cut.raw');
    fs.writeFileSync(raw, (await pcmOf('please remember to bring water', 'cut')).subarray(0, 32000 * 1.5 + 1)); // odd: half a sample at the end
    const { stdout } = await execFileAsync(process.execPath, [stream.script, '-infile', raw, '-samprate', '16000']);
    const lines = stdout.trim().split('\n');
    expect(lines.at(-2)).toBe('{"partial":""}');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ t: expect.stringMatching(/\w/), b: expect.any(Number) });
    const bad = await execFileAsync(process.execPath, [stream.script, '-infile', raw, '-nosuch', '1']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toMatch(/pocketsphinx-stream-decoder: bad pocketsphinx options: -nosuch 1/);
  });

  it('says why it cannot start: a model folder that is not one', async () => {
    const bad = new PocketsphinxEngine({ binary: stream, sampleRate: 16000, hmm: path.join(box.root, 'no-model-here') });
    await expect(bad.start()).rejects.toThrow(/pocketsphinx-stream-decoder exited with code 1: .*(acoustic model|did not initialise)/);
    await bad.close();
  });
});

describe('PocketsphinxEngine per chunk, where the chunks jump in session time', () => {
  it('a restart gap breaks the stream: speech cut off before the gap and speech after it are two utterances, each in its place', async () => {
    // "hello world" runs to the chunk's very end: nothing after it in the chunk ends the utterance.
    const hello = await pcmOf('hello world', 'gap-a');
    const morning = Buffer.concat([await pcmOf('good morning', 'gap-b'), Buffer.alloc(32000)]);
    const engine = new PocketsphinxEngine({
      binary: { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' },
      sampleRate: 16000,
    });
    await engine.start();
    try {
      const helloEnd = hello.length / 32000;
      // Capture restarted: the next chunk starts 2.5 s after the last one ended.
      const afterGap = helloEnd + 2.5;
      const segments = [
        ...(await engine.transcribe(chunk(1, 0, hello))),
        ...(await engine.transcribe(chunk(2, afterGap, morning))),
        ...(await engine.flush()),
      ];
      expect(segments.map((s) => s.text)).toEqual(['hello world', 'good morning']);
      expect(segments[0]!.end).toBeLessThanOrEqual(helloEnd + 0.001);
      expect(segments[1]!.start).toBeGreaterThanOrEqual(afterGap);
    } finally {
      await engine.close();
    }
  });
});

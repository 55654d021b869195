import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineChunk } from '../src/transcription/engine.js';
import { PocketsphinxEngine } from '../src/transcription/pocketsphinx-engine.js';
import { execFileAsync, makeSandbox, makeSpeech } from './helpers/cli.js';

/** The real pocketsphinx_continuous, driven directly through the engine interface. */
const box = makeSandbox();
afterAll(() => box.cleanup());

async function pcmOf(text: string, name: string): Promise<Buffer> {
  const wav = await makeSpeech(text, path.join(box.root, `${name}.wav`));
  const raw = path.join(box.root, `${name}.raw`);
  await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', wav, '-f', 's16le', raw]);
  return fs.readFileSync(raw);
}

const chunk = (seq: number, offsetSeconds: number, pcm: Buffer): EngineChunk => ({ seq, path: '', offsetSeconds, durationSeconds: pcm.length / 32000, pcm, sampleRate: 16000, channels: 1 });

describe('PocketsphinxEngine with the real decoder', () => {
  it('maps utterance times to session time across a chunk it never saw, and holds text in progress until flush', async () => {
    const silence = Buffer.alloc(32000); // 1 s: ends the utterance before it
    const hello = Buffer.concat([await pcmOf('hello world', 'a'), silence]);
    const morning = await pcmOf('good morning', 'b');
    const engine = new PocketsphinxEngine({ binary: { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' }, sampleRate: 16000 });
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
    const engine = new PocketsphinxEngine({ binary: { variant: 'continuous', path: '/usr/bin/pocketsphinx_continuous' }, sampleRate: 16000 });
    await engine.start();
    try {
      process.kill(engine.pid!, 'SIGKILL');
      await expect(engine.transcribe(chunk(1, 0, Buffer.alloc(320000)))).rejects.toThrow(/pocketsphinx_continuous was killed by SIGKILL/);
    } finally {
      await engine.close();
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGgmlModelFile, ggmlHeaderProblem } from '../src/models/ggml-file.js';
import { effectiveLanguage, placeSegments, s16leToFloat32 } from '../src/transcription/engines/whisper-engine.js';
import { resolveBuiltScript } from '../src/process/built-script.js';
import { tensorRecord } from './helpers/ggml.js';

const TEST_MODEL = new URL('./fixtures/models/for-tests-ggml-tiny.en.bin', import.meta.url);

function s16(...samples: number[]): Buffer {
  const buffer = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => buffer.writeInt16LE(s, i * 2));
  return buffer;
}

describe('s16leToFloat32', () => {
  it('scales s16le (already 16 kHz mono: ffmpeg made it so) to float in [-1, 1)', () => {
    expect(Array.from(s16leToFloat32(s16(0, 16384, -32768, 32767)))).toEqual([0, 0.5, -1, 32767 / 32768]);
    expect(s16leToFloat32(Buffer.alloc(0))).toHaveLength(0);
  });
});

describe('placeSegments', () => {
  const chunk = { offsetSeconds: 20, durationSeconds: 10 };

  it('adds the chunk offset to whisper centisecond times', () => {
    expect(
      placeSegments(
        [
          { start: 0, end: 250, text: ' Hello there.' },
          { start: 250, end: 480, text: ' Bye.' },
        ],
        ' Hello there. Bye.',
        chunk,
      ),
    ).toEqual([
      { start: 20, end: 22.5, text: 'Hello there.' },
      { start: 22.5, end: 24.8, text: 'Bye.' },
    ]);
  });

  it('clamps to the chunk (whisper pads to 30 s) and drops empty text', () => {
    expect(
      placeSegments(
        [
          { start: 900, end: 3000, text: 'tail' },
          { start: 0, end: 100, text: '  ' },
        ],
        'tail',
        chunk,
      ),
    ).toEqual([{ start: 29, end: 30, text: 'tail' }]);
  });

  it('spans the chunk with the text when no segment arrived', () => {
    expect(placeSegments([], ' words ', chunk)).toEqual([{ start: 20, end: 30, text: 'words' }]);
    expect(placeSegments([], '', chunk)).toEqual([]);
  });
});

describe('model file checks', () => {
  it('accepts the whisper.cpp test model header', () => {
    expect(ggmlHeaderProblem(fs.readFileSync(TEST_MODEL).subarray(0, 48))).toBeUndefined();
  });

  it('names what is wrong with a bad header', () => {
    const good = fs.readFileSync(TEST_MODEL).subarray(0, 48);
    expect(ggmlHeaderProblem(Buffer.from('GGUF1234'))).toBe('it does not start with the ggml magic');
    expect(ggmlHeaderProblem(good.subarray(0, 20))).toBe('its header is cut short');
    const badFtype = Buffer.from(good);
    badFtype.writeInt32LE(4, 44);
    expect(ggmlHeaderProblem(badFtype)).toBe('its weight type 4 is unknown');
    const quantized = Buffer.from(good);
    quantized.writeInt32LE(2007, 44);
    expect(ggmlHeaderProblem(quantized)).toBeUndefined();
    const badMels = Buffer.from(good);
    badMels.writeInt32LE(81, 40);
    expect(ggmlHeaderProblem(badMels)).toBe('its mel band count 81 is not 80 or 128');
  });

  it('runs English-only models in English whatever the language setting', () => {
    expect(effectiveLanguage('/m/ggml-tiny.en.bin', 'de')).toBe('en');
    expect(effectiveLanguage('/m/ggml-base.en-q5_1.bin', 'auto')).toBe('en');
    expect(effectiveLanguage('/m/ggml-base.bin', 'de')).toBe('de');
  });

  it('finds the built worker in dist/ when running from the TypeScript source', () => {
    expect(
      resolveBuiltScript('file:///app/dist/transcription/engines/whisper-engine.js', 'whisper-worker.js', 'the whisper worker').href,
    ).toBe('file:///app/dist/transcription/engines/whisper-worker.js');
    expect(() =>
      resolveBuiltScript('file:///nowhere/src/transcription/engines/whisper-engine.ts', 'whisper-worker.js', 'the whisper worker'),
    ).toThrow(
      'the whisper worker is not built (/nowhere/dist/transcription/engines/whisper-worker.js is missing): run `npm run build` first',
    );
  });
});

describe('checkGgmlModelFile', () => {
  const model = fs.readFileSync(TEST_MODEL);
  const check = async (bytes: Buffer): Promise<Awaited<ReturnType<typeof checkGgmlModelFile>>> => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-ggml-')), 'm.bin');
    fs.writeFileSync(file, bytes);
    try {
      return await checkGgmlModelFile(file);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  };

  it('walks the test model to its end: header, mel filters, vocabulary, no tensors', async () => {
    expect(await check(model)).toEqual({ info: { nVocab: 50257, nMels: 80, ftype: 1, tensors: 0 } });
  });

  it('walks tensor headers and skips their data by type and shape', async () => {
    const withTensors = Buffer.concat([
      model,
      tensorRecord('decoder.positional_embedding', [384, 448], 0, 384 * 448 * 4),
      tensorRecord('x.weight', [64, 2], 8, 2 * 2 * 34),
    ]);
    expect(await check(withTensors)).toMatchObject({ info: { tensors: 2 } });
  });

  it('finds a file cut short or with broken sizes', async () => {
    expect(await check(model.subarray(0, 300_000))).toEqual({
      problem: expect.stringMatching(/^it ends inside its vocabulary \(word \d+ of 50257\)$/),
    });
    const cut = Buffer.concat([model, tensorRecord('t', [1000], 0, 4000)]);
    expect(await check(cut.subarray(0, cut.length - 10))).toEqual({
      problem: 'it ends inside the data of tensor 1 (cut short by 10 bytes)',
    });
    expect(await check(Buffer.concat([model, tensorRecord('t', [4], 5, 0)]))).toEqual({ problem: 'tensor 1 has an unknown type 5' });
    const hugeWord = Buffer.from(model);
    hugeWord.fill(0xff, 48 + 8 + 80 * 201 * 4 + 4, 48 + 8 + 80 * 201 * 4 + 8);
    expect(await check(hugeWord)).toEqual({ problem: 'vocabulary word 0 has an implausible length 4294967295' });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWavHeader } from '../src/recorder/wav-header.js';
import { byteDifference } from './helpers/bytes.js';
import { chunkFiles, expectStopLast } from './helpers/chunks.js';
import { execFileAsync, exitOf, makeSandbox, onlySessionDir, readSessionLog, runCli, startCli } from './helpers/cli.js';

/**
 * Every capture format is transcribed (issue 18 §1): pocketsphinx takes 16 kHz mono, which the
 * capture's live output and ffmpeg's decode of each chunk give it; the chunks stay as recorded.
 * Real read speech: two LibriVox utterances (test/fixtures/speech/SOURCE.md).
 */
const SPEECH = fileURLToPath(new URL('./fixtures/speech/', import.meta.url));
const REFERENCE =
  'had he married a more a amiable woman he might have been made still more respectable than he was he might even have been made amiable himself'.split(
    ' ',
  );

const sandboxes: Array<ReturnType<typeof makeSandbox>> = [];
function sandbox(): ReturnType<typeof makeSandbox> {
  const s = makeSandbox();
  sandboxes.push(s);
  return s;
}
afterAll(() => sandboxes.forEach((s) => s.cleanup()));

/** The two utterances with 1.5 s of silence between and after them (11 s). */
let speech: string;
beforeAll(async () => {
  const box = sandbox();
  speech = path.join(box.root, 'austen.wav');
  const silence = ['-f', 'lavfi', '-t', '1.5', '-i', 'anullsrc=r=16000:cl=mono'];
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0920.wav'),
    ...silence,
    '-i',
    path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0930.wav'),
    ...silence,
    '-filter_complex',
    '[0][1][2][3]concat=n=4:v=0:a=1',
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
  return REFERENCE.filter((w) => said.has(w)).length / REFERENCE.length;
}

function configIn(box: ReturnType<typeof makeSandbox>): string {
  const file = path.join(box.root, 'echolog.conf');
  fs.writeFileSync(file, 'transcription:\n  ready_timeout: 30\n');
  return file;
}

function chunkFormat(dir: string): { sampleRate: number; channels: number } {
  const { sampleRate, channels } = parseWavHeader(fs.readFileSync(path.join(dir, chunkFiles(dir)[0]!)).subarray(0, 4096));
  return { sampleRate, channels };
}

const transcriptText = (dir: string): string => fs.readFileSync(path.join(dir, 'transcript.txt'), 'utf8').trim();

describe('pocketsphinx at any capture format', () => {
  it.concurrent(
    'a 48 kHz stereo session recorded at real time has a live transcript with words; its chunks stay 48 kHz stereo',
    async () => {
      const box = sandbox();
      fs.copyFileSync(speech, path.join(box.home, 'austen.wav'));
      const child = startCli(
        [
          'record',
          '--config',
          configIn(box),
          '--input',
          'austen.wav',
          '--engine',
          'pocketsphinx',
          '--sample-rate',
          '48000',
          '--channels',
          '2',
          '--segment-time',
          '10',
        ],
        box,
      );
      const exit = await exitOf(child);
      expect(child.output().stderr).toBe('');
      expect(exit.code).toBe(0);
      const dir = onlySessionDir(box.recordings);
      const log = readSessionLog(dir);
      expect(log.some((l) => l.message === 'transcription_unavailable')).toBe(false);
      expect(log[0]!.fields).toMatchObject({ transcription_engine: 'pocketsphinx', partial_text: expect.any(String) });
      expect(expectStopLast(log, 'end_of_input').fields).toMatchObject({ untranscribed_chunks: '0' });
      expect(chunkFormat(dir)).toEqual({ sampleRate: 48000, channels: 2 });
      // The text came on the live path (the capture's 16 kHz mono output into the decoder), as it was captured.
      const settled = log.filter((l) => l.message === 'chunk_transcribed');
      expect(settled.length).toBeGreaterThan(0);
      expect(settled.every((l) => l.fields.mode === 'live')).toBe(true);
      expect(child.output().stdout).toMatch(/^\[00:00:0\d\] .*(married|woman|respectable)/m);
      const text = transcriptText(dir);
      console.log(`48 kHz stereo live: recall ${(recall(text) * 100).toFixed(0)}% of ${REFERENCE.length} words: ${text}`);
      expect(recall(text)).toBeGreaterThanOrEqual(0.5);
    },
    120_000,
  );

  it.concurrent(
    'echolog transcribe on a 44.1 kHz stereo session gives the same words as on a 16 kHz mono one of the same audio',
    async () => {
      const texts: Record<string, string> = {};
      for (const [rate, channels] of [
        [44100, 2],
        [16000, 1],
      ] as const) {
        const box = sandbox();
        fs.copyFileSync(speech, path.join(box.home, 'austen.wav'));
        const recorded = await runCli(
          [
            'record',
            '--config',
            configIn(box),
            '--input',
            'austen.wav',
            '--engine',
            'none',
            '--no-realtime',
            '--sample-rate',
            String(rate),
            '--channels',
            String(channels),
            '--segment-time',
            '10',
          ],
          box,
        );
        expect(recorded.code).toBe(0);
        const dir = onlySessionDir(box.recordings);
        expect(chunkFormat(dir)).toEqual({ sampleRate: rate, channels });
        const before = chunkFiles(dir).map((f) => fs.readFileSync(path.join(dir, f)));
        const result = await runCli(
          ['transcribe', path.basename(dir), '--engine', 'pocketsphinx', '--config', path.join(box.root, 'echolog.conf')],
          box,
        );
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/transcribed 2 chunks with pocketsphinx/);
        // The chunks are left exactly as recorded.
        const after = chunkFiles(dir).map((f) => fs.readFileSync(path.join(dir, f)));
        expect(after).toHaveLength(before.length);
        after.forEach((bytes, i) => expect(byteDifference(bytes, before[i]!), chunkFiles(dir)[i]).toBe('same'));
        texts[`${rate}/${channels}`] = transcriptText(dir);
      }
      console.log(`transcribe 44.1 kHz stereo: ${texts['44100/2']}\ntranscribe 16 kHz mono:     ${texts['16000/1']}`);
      expect(recall(texts['16000/1']!)).toBeGreaterThanOrEqual(0.5);
      expect(texts['44100/2']).toBe(texts['16000/1']);
    },
    120_000,
  );
});

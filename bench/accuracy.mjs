// Accuracy (issue 18): word error rate of the same recorded speech, side by side, three ways:
//   whole file  pocketsphinx_continuous -infile on the whole file (the reference run),
//   per chunk   `echolog record --engine none` (10 s chunks) then `echolog transcribe <id>`,
//   live        `echolog record` at real time, 10 s chunks: the live transcript (stream decoder).
// On a set echolog was never tuned on (the tests use LibriVox, test/fixtures/speech/): Debian's
// Asterisk prompts, recorded by Allison Smith (CC-BY-SA-3.0; packages asterisk-core-sounds-en-wav
// for the audio, asterisk-core-sounds-en for their text, core-sounds-en.txt). Nothing of it is
// committed: the bench installs the packages (as root, with apt-get) or says why it cannot.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { wordErrorRate } from './accuracy-wer.mjs';
import { BIN, findOnPath, makeSandbox, round, run } from './lib.mjs';

const execFileAsync = promisify(execFile);

const PROMPTS_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';
const PROMPTS_TEXT = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';
const PACKAGES = ['asterisk-core-sounds-en-wav', 'asterisk-core-sounds-en'];
/** Prompts taken: the first this many (by name) that are sentences of words (see pickPrompts). */
const PROMPT_COUNT = 14;
const PAUSE_SECONDS = 1.5;
export const TARGET_POINTS = 1;

/** `name: Text.` lines of core-sounds-en.txt whose text is spoken words only, ≥ 5 of them, with a top-level WAV. */
export function pickPrompts(text, hasWav, count = PROMPT_COUNT) {
  return text
    .split('\n')
    .map((line) => /^([a-z0-9-]+): (.+)$/.exec(line.trim()))
    .filter((m) => m && !/[\d[\]]|\.\.\./.test(m[2]) && m[2].split(/\s+/).length >= 5 && hasWav(m[1]))
    .map((m) => ({ name: m[1], text: m[2] }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, count);
}

async function ensurePrompts() {
  if (fs.existsSync(PROMPTS_DIR) && fs.existsSync(PROMPTS_TEXT)) return undefined;
  const apt = findOnPath('apt-get');
  if (!apt || process.getuid?.() !== 0) return `needs Debian's ${PACKAGES.join(' and ')} (\`sudo apt-get install ${PACKAGES.join(' ')}\`)`;
  const installed = await run(apt, ['install', '-y', '--no-install-recommends', ...PACKAGES], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (installed.code !== 0) return `apt-get install ${PACKAGES.join(' ')} failed: ${installed.stderr.trim().split('\n').at(-1)}`;
  return undefined;
}

/** The prompts in order, 16 kHz mono, each followed by a pause, pink-noise room tone over it all. */
export async function buildSpeech(prompts, out) {
  const inputs = prompts.flatMap((p) => ['-i', path.join(PROMPTS_DIR, `${p.name}.wav`)]);
  const padded = prompts.map((_, i) => `[${i}]aresample=16000,apad=pad_dur=${PAUSE_SECONDS}[a${i}]`);
  const graph = [
    ...padded,
    `${prompts.map((_, i) => `[a${i}]`).join('')}concat=n=${prompts.length}:v=0:a=1[s]`,
    'anoisesrc=color=pink:amplitude=0.02:seed=11:sample_rate=16000[n]',
    '[s][n]amix=inputs=2:duration=first:normalize=0',
  ].join(';');
  // A plain 44-byte header: pocketsphinx_continuous skips exactly 44 bytes of a .wav.
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    graph,
    '-ar',
    '16000',
    '-ac',
    '1',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-flags:a',
    '+bitexact',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
}

function transcriptText(sessionDir) {
  return fs
    .readFileSync(path.join(sessionDir, 'transcript.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((line) => !line.chunk)
    .map((line) => line.text)
    .join('\n');
}

async function echolog(box, args) {
  const result = await run(BIN, args, { cwd: box.home, env: box.env });
  if (result.code !== 0)
    throw new Error(`echolog ${args.join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return result;
}

function scored(reference, hypothesis) {
  const { errors, words, wer } = wordErrorRate(reference, hypothesis);
  return { wer_percent: round(wer, 1), errors, words };
}

export async function benchAccuracy() {
  const missing = await ensurePrompts();
  if (missing) return { skipped: true, reason: missing };
  if (!findOnPath('pocketsphinx_continuous'))
    return { skipped: true, reason: 'pocketsphinx_continuous not found (apt-get install pocketsphinx pocketsphinx-en-us)' };
  const box = makeSandbox('accuracy');
  try {
    const text = zlib.gunzipSync(fs.readFileSync(PROMPTS_TEXT)).toString('utf8');
    const prompts = pickPrompts(text, (name) => fs.existsSync(path.join(PROMPTS_DIR, `${name}.wav`)));
    const reference = prompts.map((p) => p.text).join('\n');
    const speech = path.join(box.root, 'prompts.wav');
    await buildSpeech(prompts, speech);
    const whole = (await execFileAsync('pocketsphinx_continuous', ['-infile', speech])).stdout;

    box.env.ECHOLOG_ENGINE = 'pocketsphinx';
    await echolog(box, ['record', '-q', '--session-id', 'live', '--input', speech, '--segment-time', '10']);
    const liveLog = fs.readFileSync(path.join(box.recordings, 'live', 'session.log'), 'utf8');
    await echolog(box, [
      'record',
      '-q',
      '--session-id',
      'per-chunk',
      '--input',
      speech,
      '--segment-time',
      '10',
      '--no-realtime',
      '--engine',
      'none',
    ]);
    await echolog(box, ['transcribe', 'per-chunk', '--engine', 'pocketsphinx']);

    const result = {
      set: `Asterisk prompts (Allison Smith, CC-BY-SA-3.0), ${prompts.length} prompts with ${PAUSE_SECONDS} s room tone between`,
      prompts: prompts.map((p) => p.name),
      audio_s: round(fs.statSync(speech).size / 32000 - 44 / 32000, 1),
      whole_file: scored(reference, whole),
      per_chunk: scored(reference, transcriptText(path.join(box.recordings, 'per-chunk'))),
      live: scored(reference, transcriptText(path.join(box.recordings, 'live'))),
      live_path: {
        stream_decoder: /partial_text=on/.test(liveLog),
        fell_back: /live_transcription_stopped/.test(liveLog),
        cuts: Number(/live_transcription_end .*cuts=(\d+)/.exec(liveLog)?.[1] ?? NaN),
      },
    };
    result.live_minus_whole_points = round(result.live.wer_percent - result.whole_file.wer_percent, 1);
    result.met = Math.abs(result.live_minus_whole_points) <= TARGET_POINTS;
    return result;
  } finally {
    box.cleanup();
  }
}

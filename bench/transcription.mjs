// Transcription (issue 4) with the pocketsphinx engine, on speech made with flite (16 kHz mono).
//
// (a) Throughput: wall time of `echolog record --input speech.wav --no-realtime --engine pocketsphinx`
//     from start to exit (the transcript is complete when it exits) against `pocketsphinx_continuous
//     -infile speech.wav` run directly on the same file. Ratio = direct / echolog (target ≥ 0.95).
// (b) Lag: a real-time recording of the same speech with 10 s chunks; for each chunk, the time from its
//     segment-list row appearing (the chunk is closed) to its first transcript.jsonl line appearing,
//     observed from this process with fs.watch. Also the lag to `chunk_transcribed` in session.log and
//     the engine's self-reported latency_ms.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseLogLine } from '../dist/logging/line-format.js';
import {
  BIN,
  LineFollower,
  REPO,
  findOnPath,
  makeSandbox,
  median,
  percentile,
  readLogFile,
  round,
  run,
  runTimed,
  waitForEntry,
} from './lib.mjs';

const execFileAsync = promisify(execFile);

export const TARGET_THROUGHPUT_RATIO = 0.95;
/** Relative to the sandbox root, the cwd of every run. */
const CONFIG = 'echolog.conf';

// Harvard sentences (IEEE 1969, public domain): phonetically balanced, and flite says them clearly.
export const SENTENCES = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
  'The juice of lemons makes fine punch.',
  'The box was thrown beside the parked truck.',
  'The hogs were fed chopped corn and garbage.',
  'Four hours of steady work faced us.',
  'A large size in stockings is hard to sell.',
  'The boy was there when the sun rose.',
  'A rod is used to catch pink salmon.',
  'The source of the huge river is the clear spring.',
  'Kick the ball straight and follow through.',
  'Help the woman get back to her feet.',
  'A pot of tea helps to pass the evening.',
  'Smoky fires lack flame and heat.',
  "The soft cushion broke the man's fall.",
  'The salt breeze came across from the sea.',
  'The girl at the booth sold fifty bonds.',
  'The small pup gnawed a hole in the sock.',
  'The fish twisted and turned on the bent hook.',
  'Press the pants and sew a button on the vest.',
  'The swan dive was far short of perfect.',
  'The beauty of the view stunned the young boy.',
  'Two blue fish swam in the tank.',
  'Her purse was full of useless trash.',
  'The colt reared and threw the tall rider.',
  'It snowed, rained, and hailed the same morning.',
  'Read verse out loud for pleasure.',
  'Hoist the load to your left shoulder.',
  'Take the winding path to reach the lake.',
  'Note closely the size of the gas tank.',
  'Wipe the grease off his dirty face.',
  'Mend the coat before you go out.',
  'The wrist was badly strained and hung limp.',
  'The stray cat gave birth to kittens.',
  'The young girl gave no clear response.',
  'The meal was cooked before the bell rang.',
  'What joy there is in living.',
];

/**
 * `minSeconds` of speech: the sentences spoken by flite, each followed by 1 s of silence (so the
 * decoder ends an utterance per sentence, as it would with a person pausing), 16 kHz mono 16-bit WAV.
 */
export async function makeSpeech(dir, minSeconds) {
  const parts = [];
  for (const [i, sentence] of SENTENCES.entries()) {
    const raw = path.join(dir, `sentence-${i}.flite.wav`);
    const part = path.join(dir, `sentence-${i}.wav`);
    await execFileAsync('flite', ['-voice', 'slt', '-t', sentence, '-o', raw]);
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      raw,
      '-af',
      'apad=pad_dur=1',
      '-ar',
      '16000',
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      part,
    ]);
    fs.rmSync(raw);
    parts.push(part);
  }
  const list = path.join(dir, 'sentences.txt');
  fs.writeFileSync(list, parts.map((p) => `file '${p}'\n`).join(''));
  const once = path.join(dir, 'speech.once.wav');
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-c:a',
    'pcm_s16le',
    once,
  ]);
  for (const part of parts) fs.rmSync(part);
  const seconds = await durationOf(once);
  const loops = Math.max(0, Math.ceil(minSeconds / seconds) - 1);
  const out = path.join(dir, 'speech.wav');
  await execFileAsync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-stream_loop',
    String(loops),
    '-i',
    once,
    '-t',
    String(minSeconds),
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  return { file: out, seconds: await durationOf(out), sentences: SENTENCES.length };
}

/** The speech file, made once and kept in bench/results/.cache (gitignored) for later runs. */
async function cachedSpeech(seconds) {
  const dir = path.join(REPO, 'bench', 'results', '.cache', `speech-${seconds}s-${SENTENCES.length}`);
  const meta = path.join(dir, 'speech.json');
  if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const speech = await makeSpeech(dir, seconds);
  fs.rmSync(path.join(dir, 'speech.once.wav'));
  fs.rmSync(path.join(dir, 'sentences.txt'));
  fs.writeFileSync(meta, JSON.stringify(speech));
  return speech;
}

async function durationOf(file) {
  const { stdout } = await execFileAsync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

function readJsonl(file) {
  if (!fs.existsSync(file)) return undefined;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** Why the engine cannot be benchmarked yet, or undefined when a short run produces a transcript. */
async function engineMissing(sandbox, speech) {
  if (!findOnPath('pocketsphinx_continuous') && !findOnPath('pocketsphinx'))
    return 'pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us)';
  const id = 'engine-probe';
  const probe = await run(
    BIN,
    [
      'record',
      '-q',
      '--config',
      CONFIG,
      '--session-id',
      id,
      '--input',
      speech.file,
      '--no-realtime',
      '--duration',
      '12',
      '--engine',
      'pocketsphinx',
    ],
    {
      cwd: sandbox.root,
      env: sandbox.env,
    },
  );
  if (probe.code !== 0)
    return `echolog record --engine pocketsphinx exited ${probe.code}: ${probe.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const lines = readJsonl(path.join(sandbox.recordings, id, 'transcript.jsonl'));
  if (!lines)
    return 'echolog record --engine pocketsphinx wrote no transcript.jsonl (is src/transcription/engines/pocketsphinx-engine.ts wired into createTranscriptionComponents?)';
  if (!lines.some((l) => typeof l.text === 'string' && l.text.trim())) return 'transcript.jsonl has no text for 12 s of clear speech';
  return undefined;
}

function wordsOf(text) {
  return text.toLowerCase().match(/[a-z']+/g) ?? [];
}

async function throughput({ sandbox, speech, repeats, log }) {
  const direct = findOnPath('pocketsphinx_continuous');
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    const id = `throughput-${i}`;
    const runEcholog = () =>
      runTimed(
        BIN,
        ['record', '-q', '--config', CONFIG, '--session-id', id, '--input', speech.file, '--no-realtime', '--engine', 'pocketsphinx'],
        { cwd: sandbox.root, env: sandbox.env },
      );
    const runDirect = () => runTimed(direct, ['-infile', speech.file], { cwd: sandbox.root });
    // Alternate the order so drift in the machine's load falls on both sides alike.
    let e;
    let d;
    if (i % 2 === 0) {
      e = await runEcholog();
      d = await runDirect();
    } else {
      d = await runDirect();
      e = await runEcholog();
    }
    if (e.code !== 0) throw new Error(`echolog record --engine pocketsphinx exited ${e.code}: ${e.stderr}`);
    if (d.code !== 0) throw new Error(`pocketsphinx_continuous exited ${d.code}: ${d.stderr.slice(-2000)}`);
    const sessionDir = path.join(sandbox.recordings, id);
    const stop = readLogFile(path.join(sessionDir, 'session.log')).lines.findLast((l) => l.message === 'session_stop');
    const transcript = readJsonl(path.join(sandbox.recordings, id, 'transcript.jsonl')) ?? [];
    const echologWords = transcript.flatMap((l) => wordsOf(l.text ?? ''));
    const directWords = wordsOf(d.stdout);
    for (const name of fs.readdirSync(sessionDir)) if (name.endsWith('.wav')) fs.rmSync(path.join(sessionDir, name));
    const r = {
      echolog_wall_s: round(e.wallMs / 1000, 2),
      direct_wall_s: round(d.wallMs / 1000, 2),
      ratio_direct_to_echolog: round(d.wallMs / e.wallMs, 4),
      cpu_ratio_direct_to_echolog: round(d.rusage.cpu / e.rusage.cpu, 4),
      echolog_tree_cpu_s: round(e.rusage.cpu, 2),
      direct_cpu_s: round(d.rusage.cpu, 2),
      echolog_words: echologWords.length,
      direct_words: directWords.length,
      transcript_lines: transcript.length,
      untranscribed_chunks: Number(stop?.fields.untranscribed_chunks ?? 0),
    };
    runs.push(r);
    log(
      `  throughput run ${i + 1}/${repeats}: echolog ${r.echolog_wall_s} s, direct ${r.direct_wall_s} s, ratio ${r.ratio_direct_to_echolog}, words ${r.echolog_words}/${r.direct_words}`,
    );
  }
  const ratio = median(runs.map((r) => r.ratio_direct_to_echolog));
  // A run that recognises nothing is fast for the wrong reason: it is no throughput figure.
  const wordShare = median(runs.map((r) => r.echolog_words / Math.max(1, r.direct_words)));
  const untranscribed = Math.max(...runs.map((r) => r.untranscribed_chunks));
  const valid = wordShare >= 0.5 && untranscribed === 0;
  return {
    echolog_words_share_of_direct: round(wordShare, 3),
    valid,
    ...(valid
      ? {}
      : {
          invalid_because:
            untranscribed > 0
              ? `echolog stopped with ${untranscribed} chunks untranscribed: its time is not that of a complete transcript`
              : `echolog's transcript has ${round(wordShare * 100, 1)}% of the words pocketsphinx_continuous prints for the same audio`,
        }),
    audio_seconds: round(speech.seconds, 2),
    repeats,
    runs,
    median_echolog_wall_s: round(median(runs.map((r) => r.echolog_wall_s)), 2),
    median_direct_wall_s: round(median(runs.map((r) => r.direct_wall_s)), 2),
    median_ratio_direct_to_echolog: round(ratio, 4),
    median_cpu_ratio_direct_to_echolog: round(median(runs.map((r) => r.cpu_ratio_direct_to_echolog)), 4),
    realtime_factor_direct: round(median(runs.map((r) => r.direct_wall_s)) / speech.seconds, 3),
    target_ratio: TARGET_THROUGHPUT_RATIO,
    met: valid && ratio >= TARGET_THROUGHPUT_RATIO,
  };
}

async function lag({ sandbox, speech, seconds, log }) {
  const id = 'lag';
  const closed = new Map(); // seq -> time its segment-list row appeared (the chunk is final)
  const span = new Map(); // seq -> [start, end] in session seconds, from chunk_created
  const textLines = []; // { end, seen, words } of transcript.jsonl lines that carry text
  const logged = new Map(); // seq -> time chunk_transcribed appeared in session.log
  const selfReported = new Map(); // seq -> latency_ms of chunk_transcribed
  let rows = 0;
  const dirAppears = waitForEntry(sandbox.recordings, id);
  const child = spawn(
    BIN,
    [
      'record',
      '-q',
      '--config',
      CONFIG,
      '--session-id',
      id,
      '--input',
      speech.file,
      '--duration',
      String(seconds),
      '--segment-time',
      '10',
      '--engine',
      'pocketsphinx',
    ],
    {
      cwd: sandbox.root,
      env: sandbox.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('close', resolve));
  const sessionDir = await dirAppears;
  const segments = new LineFollower(path.join(sessionDir, 'segments.csv'), (_line, t) => closed.set(++rows, t));
  const transcript = new LineFollower(path.join(sessionDir, 'transcript.jsonl'), (line, t) => {
    const entry = JSON.parse(line);
    if (typeof entry.text === 'string' && entry.text.trim())
      textLines.push({ end: Number(entry.end), seen: t, words: wordsOf(entry.text).length });
  });
  const sessionLog = new LineFollower(path.join(sessionDir, 'session.log'), (line, t) => {
    if (!line.includes(' chunk_transcribed ') && !line.includes(' chunk_created ')) return;
    const parsed = parseLogLine(line);
    const seq = Number(parsed?.fields.seq);
    if (parsed?.message === 'chunk_created') {
      const start = Number(parsed.fields.offset_s);
      span.set(seq, [start, start + Number(parsed.fields.duration_s)]);
    } else if (parsed?.message === 'chunk_transcribed') {
      if (!logged.has(seq)) logged.set(seq, t);
      if (parsed.fields.latency_ms !== undefined) selfReported.set(seq, Number(parsed.fields.latency_ms));
    }
  });
  const followers = { 'segments.csv': segments, 'transcript.jsonl': transcript, 'session.log': sessionLog };
  const watcher = fs.watch(sessionDir, (_event, name) => {
    if (name === null) for (const f of Object.values(followers)) f.poll();
    else followers[name]?.poll();
  });
  for (const f of Object.values(followers)) f.poll();
  const code = await exited;
  watcher.close();
  for (const f of Object.values(followers)) {
    f.poll();
    f.close();
  }
  if (code !== 0) throw new Error(`echolog record (real time, pocketsphinx) exited ${code}: ${stderr}`);

  // A line's text cannot exist before the chunk holding the end of its audio is closed: its lag is
  // from that chunk's close to the line appearing. (A streaming decoder prints an utterance only
  // when it ends, which may be in a later chunk than where it began.)
  const chunkOf = (time) => {
    for (const [seq, [start, end]] of span) if (time >= start && time < end + 0.05) return seq;
    return [...span.keys()].at(-1);
  };
  const toLine = [];
  let afterStop = 0;
  for (const line of textLines) {
    const seq = chunkOf(line.end);
    const t = closed.get(seq);
    if (t === undefined) continue;
    toLine.push(line.seen - t);
  }
  const lastClose = Math.max(...closed.values());
  for (const line of textLines) if (line.seen > lastClose + 1000) afterStop++;
  const toLog = [...closed].filter(([seq]) => logged.has(seq)).map(([seq, t]) => logged.get(seq) - t);
  const stats = (values) => ({
    n: values.length,
    p50_ms: round(percentile(values, 50), 1),
    p95_ms: round(percentile(values, 95), 1),
    max_ms: round(Math.max(...values), 1),
  });
  const result = {
    mode: 'realtime (-re), 10 s chunks',
    audio_seconds: seconds,
    chunks: closed.size,
    text_lines: textLines.length,
    words: textLines.reduce((sum, l) => sum + l.words, 0),
    text_lines_after_last_chunk: afterStop,
    to_transcript_line: stats(toLine),
    to_chunk_transcribed: stats(toLog),
    self_reported_latency_ms: stats([...selfReported.values()]),
  };
  log(
    `  lag: ${result.chunks} chunks, ${result.text_lines} text lines; chunk close → transcript line p50 ${result.to_transcript_line.p50_ms} ms, p95 ${result.to_transcript_line.p95_ms} ms; → chunk_transcribed p50 ${result.to_chunk_transcribed.p50_ms} ms`,
  );
  return result;
}

export async function benchTranscription({ repeats = 3, speechSeconds = 120, lagSeconds = 60, log = console.log } = {}) {
  const sandbox = makeSandbox('transcription');
  sandbox.env.ECHOLOG_ENGINE = 'pocketsphinx';
  // The default drain_timeout (30 s) ends a --no-realtime session before a slow machine has decoded
  // 2 minutes of speech; the throughput is the time to the complete transcript, so wait for it.
  fs.writeFileSync(path.join(sandbox.root, 'echolog.conf'), 'transcription:\n  drain_timeout: 900\n');
  try {
    const speech = await cachedSpeech(speechSeconds);
    log(`  speech: ${round(speech.seconds, 1)} s of flite audio (${speech.sentences} sentences, 1 s pauses)`);
    const missing = await engineMissing(sandbox, speech);
    if (missing) {
      log(`  transcription: NOT RUN — ${missing}`);
      return { skipped: true, reason: missing, met: undefined };
    }
    const tp = await throughput({ sandbox, speech, repeats, log });
    const lg = await lag({ sandbox, speech, seconds: Math.min(lagSeconds, Math.floor(speech.seconds)), log });
    return { throughput: tp, lag: lg, met: tp.met };
  } finally {
    sandbox.cleanup();
  }
}

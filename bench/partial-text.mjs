// Partial text (issue 10): what the stream decoder shows while a sentence is spoken, and what it costs.
//
// (a) On a real terminal (util-linux `script`, 80×24, TERM=xterm): `echolog record` of flite speech at
//     real time, 10 s chunks, as livelatency places it. The pty's output is timestamped as it arrives.
//     Per sentence: sentence start in the audio → its first partial on the terminal; the interval
//     between successive partials while it is spoken; sentence end → its final line. Time zero is
//     session_start's start_time (taken before ffmpeg starts: conservative by ffmpeg's start-up).
// (b) Cost, side by side in one run: the same speech decoded as fast as it can be by
//     pocketsphinx_continuous and by echolog's stream decoder (which adds Node, koffi and the partial
//     backtraces), each under GNU time, order alternated; CPU and peak RSS as ratios stream / CLI.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN, REPO, findOnPath, makeSandbox, median, nowMs, readLogFile, round, runTimed, waitForEntry } from './lib.mjs';
import { makePlacedSpeech, stats } from './live-latency.mjs';

const execFileAsync = promisify(execFile);
const SENTENCES = 8;
const PARTIAL = /\x1b\[2m {2}([^\x1b]+)\x1b\[22m/g;
const FINAL = /\[(\d\d):(\d\d):(\d\d)\] ([^\r\n\x1b]+)/g;

/** Runs the recording in a pty; returns the terminal's output as timestamped pieces and the session log. */
async function recordInPty(speech) {
  const sandbox = makeSandbox('partial-text');
  try {
    fs.writeFileSync(path.join(sandbox.root, 'echolog.conf'), 'transcription:\n  ready_timeout: 30\n');
    const sessionId = 'partial-text';
    const command = [
      'stty cols 80 rows 24;',
      BIN,
      'record',
      '--config',
      'echolog.conf',
      '--session-id',
      sessionId,
      '--input',
      speech.file,
      '--engine',
      'pocketsphinx',
      '--segment-time',
      '10',
    ].join(' ');
    const appears = waitForEntry(sandbox.recordings, sessionId, 60_000);
    const child = spawn(findOnPath('script'), ['-qfec', command, '/dev/null'], {
      cwd: sandbox.root,
      env: { ...sandbox.env, TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pieces = [];
    child.stdout.on('data', (d) => pieces.push({ at: nowMs(), text: d.toString('utf8') }));
    const code = await new Promise((resolve) => child.on('close', resolve));
    const dir = await appears;
    if (code !== 0) throw new Error(`echolog record in a pty exited ${code}`);
    const log = readLogFile(path.join(dir, 'session.log')).lines;
    return { pieces, log };
  } finally {
    sandbox.cleanup();
  }
}

/** Partials and final lines in the order the terminal got them, each with when its piece arrived. */
function screenEvents(pieces) {
  let text = '';
  const arrivals = [];
  for (const p of pieces) {
    arrivals.push({ from: text.length, at: p.at });
    text += p.text;
  }
  const atOffset = (offset) => arrivals.findLast((a) => a.from <= offset).at;
  const partials = [...text.matchAll(PARTIAL)].map((m) => ({ kind: 'partial', text: m[1], at: atOffset(m.index + m[0].length - 1) }));
  const finals = [...text.matchAll(FINAL)].map((m) => ({
    kind: 'final',
    start: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]),
    text: m[4],
    at: atOffset(m.index + m[0].length - 1),
  }));
  return [...partials, ...finals].sort((a, b) => a.at - b.at);
}

async function measureScreen(speech, log) {
  const { pieces, log: sessionLog } = await recordInPty(speech);
  const t0 = Date.parse(sessionLog.find((l) => l.message === 'session_start').fields.start_time);
  const events = screenEvents(pieces);
  const firstPartial = [];
  const refresh = [];
  const finalMs = [];
  const perSentence = [];
  for (const s of speech.sentences) {
    const startAt = t0 + s.start * 1000;
    const endAt = t0 + s.end * 1000;
    // Its final line: the first one whose session time lies within the sentence.
    const final = events.find((e) => e.kind === 'final' && e.start >= Math.floor(s.start - 1) && e.start <= s.end && e.at > startAt);
    const until = final ? final.at : endAt + 5000;
    const partials = events.filter((e) => e.kind === 'partial' && e.at >= startAt && e.at <= until);
    const distinct = partials.filter((p, i) => i === 0 || p.text !== partials[i - 1].text);
    if (distinct.length > 0) firstPartial.push(distinct[0].at - startAt);
    for (let i = 1; i < distinct.length; i++) refresh.push(distinct[i].at - distinct[i - 1].at);
    if (final) finalMs.push(final.at - endAt);
    perSentence.push({
      place: s.place,
      start: s.start,
      end: s.end,
      partials: distinct.length,
      first_partial_ms: distinct.length ? round(distinct[0].at - startAt, 0) : null,
      final_ms: final ? round(final.at - endAt, 0) : null,
    });
  }
  const result = {
    sentences: speech.sentences.length,
    with_partials: perSentence.filter((p) => p.partials > 0).length,
    first_partial_after_start: stats(firstPartial),
    partial_refresh: stats(refresh),
    final_after_end: stats(finalMs),
    partials_in_transcript: 0,
    per_sentence: perSentence,
  };
  log(
    `  ${result.with_partials}/${result.sentences} sentences showed partials; first partial p50 ${result.first_partial_after_start.p50_ms} ms after the sentence began; refresh p50 ${result.partial_refresh.p50_ms} ms; final p95 ${result.final_after_end.p95_ms} ms after it ended`,
  );
  return result;
}

/** Decodes `raw` with `binary args` under GNU time, the input through a FIFO as echolog gives it. */
async function decodeTimed(dir, name, command, args, raw) {
  const fifo = path.join(dir, `${name}.fifo`);
  fs.rmSync(fifo, { force: true });
  await execFileAsync('mkfifo', [fifo]);
  const feeding = execFileAsync('sh', ['-c', `cat '${raw}' > '${fifo}'`]);
  const result = await runTimed(command, args(fifo), { cwd: dir });
  await feeding;
  if (result.code !== 0) throw new Error(`${name} exited ${result.code}: ${result.stderr.slice(-400)}`);
  return { rusage: result.rusage, stdout: result.stdout };
}

async function measureCost(speech, repeats, log) {
  const dir = fs.mkdtempSync(path.join(REPO, 'bench', 'results', '.cache', 'partial-cost-'));
  try {
    const raw = path.join(dir, 'speech.raw');
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      speech.file,
      '-f',
      's16le',
      '-ar',
      '16000',
      '-ac',
      '1',
      raw,
    ]);
    const decoders = {
      cli: [findOnPath('pocketsphinx_continuous'), (fifo) => ['-infile', fifo, '-time', 'yes', '-samprate', '16000']],
      stream: [
        process.execPath,
        (fifo) => [
          path.join(REPO, 'dist', 'transcription', 'engines', 'pocketsphinx-stream-decoder.js'),
          '-infile',
          fifo,
          '-samprate',
          '16000',
        ],
      ],
    };
    const runs = { cli: [], stream: [] };
    let partialLines = 0;
    for (let i = 0; i < repeats; i++) {
      for (const name of i % 2 === 0 ? ['cli', 'stream'] : ['stream', 'cli']) {
        const [command, args] = decoders[name];
        const { rusage, stdout } = await decodeTimed(dir, name, command, args, raw);
        runs[name].push(rusage);
        if (name === 'stream') partialLines = stdout.split('\n').filter((l) => l.startsWith('{"partial"')).length;
      }
    }
    const med = (name, key) => median(runs[name].map((r) => r[key]));
    const result = {
      audio_s: speech.seconds,
      repeats,
      cli: { cpu_s: round(med('cli', 'cpu'), 2), max_rss_mb: round(med('cli', 'maxRssKb') / 1024, 1) },
      stream: {
        cpu_s: round(med('stream', 'cpu'), 2),
        max_rss_mb: round(med('stream', 'maxRssKb') / 1024, 1),
        partial_lines: partialLines,
      },
    };
    result.cpu_ratio = round(result.stream.cpu_s / result.cli.cpu_s, 2);
    result.rss_ratio = round(result.stream.max_rss_mb / result.cli.max_rss_mb, 2);
    log(
      `  decode ${speech.seconds} s as fast as it goes: CPU stream/CLI ${result.cpu_ratio}× (${result.stream.cpu_s} / ${result.cli.cpu_s} s), peak RSS ${result.rss_ratio}× (${result.stream.max_rss_mb} / ${result.cli.max_rss_mb} MB)`,
    );
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPartialText({ repeats = 3, log = console.log } = {}) {
  const speech = await makePlacedSpeech(SENTENCES);
  log(`  speech: ${speech.sentences.length} flite sentences, ${speech.seconds} s`);
  const screen = await measureScreen(speech, log);
  const cost = await measureCost(speech, Math.max(3, repeats), log);
  return { screen, cost };
}

// Engine openai (issue 20), against a local server of the API that answers in a fixed 1.0 s.
//
// The server runs in this process (node:http on 127.0.0.1): it stamps each request's arrival and the
// end of its answer on the same clock as the session files followed here, so echolog's own part of a
// round trip is (request arrives − chunk closed) + (line in transcript.jsonl − answer sent).
// - lag at real time: recorded speech (the test fixtures, looped) read at its own pace, 10 s chunks, 21 of them
//   (with 9, the p95 was the maximum: the first chunk, which pays for code run once); chunk close = its
//   segments.csv row appearing; line = its `chunk: transcribed` line in transcript.jsonl.
//   Side by side: the same audio with local pocketsphinx (per chunk, transcription.live false).
// - throughput (--no-realtime): the same audio with concurrency 1 and 2, and with pocketsphinx;
//   audio seconds / wall seconds of the whole `echolog record`, transcript checked in chunk order.
// - RSS during an outage: a server that takes requests and never answers, --no-realtime, 100 chunks
//   queued; echolog's VmHWM once all are queued, beside the same session with --engine none.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, LineFollower, makeSandbox, nowMs, percentile, round, run, waitForEntry } from './lib.mjs';

export const TARGETS = { own_p95_ms: 50, close_to_line_p95_ms: 1300, concurrency_ratio: 1.8, rss_mb: 150 };
const FIXTURES = ['0870', '0920'].map((n) =>
  fileURLToPath(new URL(`../test/fixtures/speech/sense_and_sensibility_01_austen_64kb-${n}.wav`, import.meta.url)),
);
const ANSWER_MS = 1000;

const stats = (values) => ({
  n: values.length,
  p50_ms: round(percentile(values, 50), 1),
  p95_ms: round(percentile(values, 95), 1),
  max_ms: round(Math.max(...values), 1),
});

/** The server: `answerMs` after the whole upload arrived (never, for undefined), one verbose_json segment. */
function startServer(answerMs) {
  const requests = [];
  const open = new Set();
  const server = http.createServer((req, res) => {
    const entry = { arrived: nowMs(), answered: undefined };
    requests.push(entry);
    open.add(res);
    res.on('close', () => open.delete(res));
    req.resume();
    req.on('end', () => {
      if (answerMs === undefined) return;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ text: 'bench words', segments: [{ id: 0, start: 0, end: 1, text: ' bench words' }] }),
          () => (entry.answered = nowMs()),
        );
      }, answerMs);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/v1`,
        requests,
        close: () =>
          new Promise((done) => {
            for (const res of open) res.destroy();
            server.close(done);
            server.closeAllConnections();
          }),
      }),
    ),
  );
}

/** The fixtures' speech looped to `seconds` as one 16 kHz mono WAV. */
async function speechFile(dir, seconds) {
  const out = path.join(dir, `speech-${seconds}.wav`);
  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, FIXTURES.map((f) => `file '${f}'`).join('\n'));
  const made = await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-stream_loop',
    '-1',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-t',
    String(seconds),
    '-ar',
    '16000',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  if (made.code !== 0) throw new Error(`ffmpeg could not make the speech file: ${made.stderr}`);
  return out;
}

/** A config file and the flags that use it (the sandbox's ECHOLOG_ENGINE=none would win over the file). */
function configArgs(sandbox, name, { engine, concurrency = 2, timeout = 60, live = true, drain = 120 }) {
  const file = path.join(sandbox.root, `${name}.conf`);
  fs.writeFileSync(
    file,
    `transcription:\n  live: ${live}\n  ready_timeout: 30\n  drain_timeout: ${drain}\n  openai:\n    concurrency: ${concurrency}\n    timeout: ${timeout}\n`,
  );
  return ['--config', file, '--engine', engine];
}

/** Runs a session, following segments.csv and transcript.jsonl; resolves with their stamped lines and the wall time. */
async function followSession(sandbox, id, args, env = {}, { onChunk } = {}) {
  const closed = [];
  const transcribed = new Map();
  const utteranceSeqs = [];
  const dirAppears = waitForEntry(sandbox.recordings, id, 60_000);
  const started = nowMs();
  const child = spawn(BIN, ['record', '-q', '--session-id', id, ...args], {
    cwd: sandbox.home,
    env: { ...sandbox.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, wall_ms: nowMs() - started })));
  const dir = await dirAppears;
  const followers = {
    'segments.csv': new LineFollower(path.join(dir, 'segments.csv'), (_line, t) => {
      closed.push(t);
      onChunk?.(closed.length, child);
    }),
    'transcript.jsonl': new LineFollower(path.join(dir, 'transcript.jsonl'), (line, t) => {
      const entry = JSON.parse(line);
      if (entry.chunk === 'transcribed' && !transcribed.has(entry.seq)) transcribed.set(entry.seq, t);
      if (!entry.chunk) utteranceSeqs.push(entry.seq);
    }),
  };
  const watcher = fs.watch(dir, (_event, name) => {
    if (name === null) for (const f of Object.values(followers)) f.poll();
    else followers[name]?.poll();
  });
  // fs.watch may coalesce: a 5 ms poll bounds what it misses.
  const poller = setInterval(() => Object.values(followers).forEach((f) => f.poll()), 5);
  const { code, wall_ms } = await exited;
  clearInterval(poller);
  watcher.close();
  for (const f of Object.values(followers)) {
    f.poll();
    f.close();
  }
  return { code, stderr, wall_ms, closed, transcribed, utteranceSeqs, dir, pid: child.pid };
}

async function realtimeLag(sandbox, speech, seconds, log) {
  const server = await startServer(ANSWER_MS);
  try {
    const config = configArgs(sandbox, 'rt-openai', { engine: 'openai' });
    const s = await followSession(
      sandbox,
      'rt-openai',
      [...config, '--input', speech, '--segment-time', '10', '--duration', String(seconds)],
      { OPENAI_BASE_URL: server.url },
    );
    if (s.code !== 0) throw new Error(`record (openai, real time) exited ${s.code}: ${s.stderr}`);
    const own = [];
    const toRequest = [];
    const toLine = [];
    const closeToLine = [];
    s.closed.forEach((closedAt, i) => {
      const seq = i + 1;
      const request = server.requests[i];
      const line = s.transcribed.get(seq);
      if (!request?.answered || line === undefined) return;
      closeToLine.push(line - closedAt);
      own.push(request.arrived - closedAt + (line - request.answered));
      toRequest.push(round(request.arrived - closedAt, 1));
      toLine.push(round(line - request.answered, 1));
    });
    const result = {
      chunks: s.closed.length,
      requests: server.requests.length,
      own_part: stats(own),
      close_to_line: stats(closeToLine),
      own_part_by_chunk_ms: own.map((v) => round(v, 1)),
      close_to_request_by_chunk_ms: toRequest,
      answer_to_line_by_chunk_ms: toLine,
    };
    log(
      `  openai real time: ${result.chunks} chunks; own part p50 ${result.own_part.p50_ms} / p95 ${result.own_part.p95_ms} ms; close → line p95 ${result.close_to_line.p95_ms} ms`,
    );
    return result;
  } finally {
    await server.close();
  }
}

async function pocketsphinxLag(sandbox, speech, seconds, log) {
  const config = configArgs(sandbox, 'rt-ps', { engine: 'pocketsphinx', live: false });
  const s = await followSession(sandbox, 'rt-ps', [...config, '--input', speech, '--segment-time', '10', '--duration', String(seconds)]);
  if (s.code !== 0) throw new Error(`record (pocketsphinx, real time) exited ${s.code}: ${s.stderr}`);
  const closeToLine = s.closed.map((t, i) => s.transcribed.get(i + 1) - t).filter((v) => Number.isFinite(v));
  const result = { chunks: s.closed.length, close_to_line: stats(closeToLine) };
  log(`  pocketsphinx real time (per chunk): close → line p50 ${result.close_to_line.p50_ms} / p95 ${result.close_to_line.p95_ms} ms`);
  return result;
}

async function throughput(sandbox, speech, seconds, log) {
  const server = await startServer(ANSWER_MS);
  const runs = {};
  try {
    for (const [name, engine, concurrency] of [
      ['openai_c1', 'openai', 1],
      ['openai_c2', 'openai', 2],
      ['pocketsphinx', 'pocketsphinx', 1],
    ]) {
      const config = configArgs(sandbox, name, { engine, concurrency, live: false });
      const s = await followSession(sandbox, `tp-${name}`, [...config, '--input', speech, '--segment-time', '10', '--no-realtime'], {
        OPENAI_BASE_URL: server.url,
      });
      if (s.code !== 0) throw new Error(`record (${name}, --no-realtime) exited ${s.code}: ${s.stderr}`);
      const seqs = [...s.transcribed.keys()];
      runs[name] = {
        wall_s: round(s.wall_ms / 1000, 2),
        audio_per_wall: round(seconds / (s.wall_ms / 1000), 2),
        // A run the drain timeout cut short (pocketsphinx under load) counts only what it transcribed.
        transcribed_audio_per_wall: round(Math.min(seqs.length * 10, seconds) / (s.wall_ms / 1000), 2),
        chunks_transcribed: seqs.length,
        in_chunk_order:
          seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]) &&
          s.utteranceSeqs.every((seq, i) => i === 0 || seq >= s.utteranceSeqs[i - 1]),
      };
      log(
        `  --no-realtime ${name}: ${runs[name].wall_s} s wall for ${seconds} s audio (${runs[name].chunks_transcribed} chunks, in order: ${runs[name].in_chunk_order})`,
      );
    }
  } finally {
    await server.close();
  }
  return { audio_seconds: seconds, runs, ratio_c2_to_c1: round(runs.openai_c2.audio_per_wall / runs.openai_c1.audio_per_wall, 2) };
}

function vmHwmMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return round(Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024, 1);
}

/** Peak RSS of echolog once `chunks` chunks are queued (or, for engine none, written), then SIGINT. */
async function rssWhenQueued(sandbox, speech, name, engine, chunks, env) {
  const config = configArgs(sandbox, name, { engine, concurrency: 2, timeout: 3600, drain: 0 });
  let peak;
  const s = await followSession(sandbox, name, [...config, '--input', speech, '--segment-time', '10', '--no-realtime'], env, {
    onChunk: (count, child) => {
      if (count !== chunks) return;
      // Let the queue take the last chunk, then read the high-water mark and stop.
      setTimeout(() => {
        peak = vmHwmMb(child.pid);
        child.kill('SIGINT');
      }, 1000);
    },
  });
  return {
    peak_rss_mb: peak,
    exit: s.code,
    chunks: s.closed.length,
    pending_at_stop: JSON.parse(fs.readFileSync(path.join(s.dir, 'session.json'), 'utf8')).transcription?.pending_chunks,
  };
}

async function outageRss(sandbox, log) {
  const chunks = 100;
  const speech = await speechFile(sandbox.root, chunks * 10 + 5);
  const server = await startServer(undefined);
  try {
    const openai = await rssWhenQueued(sandbox, speech, 'rss-openai', 'openai', chunks, { OPENAI_BASE_URL: server.url });
    const none = await rssWhenQueued(sandbox, speech, 'rss-none', 'none', chunks, {});
    log(
      `  outage: ${openai.chunks} chunks, peak RSS ${openai.peak_rss_mb} MB (engine none, same input: ${none.peak_rss_mb} MB); requests held open ${server.requests.length}`,
    );
    return { chunks, openai, none, requests_in_flight: server.requests.length };
  } finally {
    await server.close();
  }
}

export async function benchOpenAi({ lagSeconds = 210, throughputSeconds = 200, log = console.log } = {}) {
  const sandbox = makeSandbox('openai');
  try {
    const lagSpeech = await speechFile(sandbox.root, lagSeconds);
    const tpSpeech = await speechFile(sandbox.root, throughputSeconds);
    const lag = await realtimeLag(sandbox, lagSpeech, lagSeconds, log);
    // BENCH_OPENAI_LAG_ONLY=1: the real-time lag of engine openai alone (3.5 min), e.g. to compare builds.
    if (process.env.BENCH_OPENAI_LAG_ONLY) return { answer_ms: ANSWER_MS, lag, targets: TARGETS };
    const pocketsphinx = await pocketsphinxLag(sandbox, lagSpeech, lagSeconds, log);
    const tp = await throughput(sandbox, tpSpeech, throughputSeconds, log);
    const rss = await outageRss(sandbox, log);
    const met =
      lag.own_part.p95_ms <= TARGETS.own_p95_ms &&
      lag.close_to_line.p95_ms <= TARGETS.close_to_line_p95_ms &&
      tp.ratio_c2_to_c1 >= TARGETS.concurrency_ratio &&
      tp.runs.openai_c1.in_chunk_order &&
      tp.runs.openai_c2.in_chunk_order &&
      rss.openai.peak_rss_mb <= TARGETS.rss_mb;
    return { answer_ms: ANSWER_MS, lag, pocketsphinx_lag: pocketsphinx, throughput: tp, outage_rss: rss, targets: TARGETS, met };
  } finally {
    sandbox.cleanup();
  }
}

// Long runs stay flat (issue 19 §3): one long `echolog record`, sampled once per audio hour.
// (a) full speed: 24 h of a lavfi sine (16 kHz mono), 10 s chunks, --no-realtime, no engine (8640 chunks);
// (b) live pace: 2 h of flite speech looped (amovie loop=0), 10 s chunks, pocketsphinx live.
// At each audio hour (from session.json's chunk count) it reads echolog's RSS and threads
// (/proc/<pid>/status), its open fds (/proc/<pid>/fd) and the size of session.log with its rotated
// files. Flat means: the last period sampled while recording (the 24th hour ends with the exit) within
// +10 % of the second (the first holds start-up), for RSS, fds, threads and the log bytes written in the period. At full
// speed chunks are deleted once echolog has counted them (an archiver's job), so 24 h take ~3 GB of disk at no point; the
// live run keeps its chunks (115 MB an hour): what the live path missed is transcribed from them at the stop.
// BENCH_SOAK_FULL_S / BENCH_SOAK_LIVE_S shorten the runs (seconds of audio; 0 skips that part); runs under
// 6 h are sampled in sixths instead of hours. BENCH_SOAK_HEAP=1 runs echolog's node with --expose-gc and
// bench/soak-heap-probe.mjs, and adds to each sample the JS heap used after a forced full GC (what is kept,
// apart from garbage not collected yet); the GC it forces is not how echolog runs, so it is off by default.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, makeSandbox, round } from './lib.mjs';
import { makeSpeech } from './transcription.mjs';

const SEGMENT_S = 10;
const FLAT = 1.1;

function procStatus(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1]);
  return { rss_mb: round(field('VmRSS') / 1024, 1), threads: field('Threads') };
}

function logBytes(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^session\.log/.test(f))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** session.json's stats (the chunks echolog has counted), or undefined while it is being replaced. */
function sessionStats(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')).stats;
  } catch {
    return undefined; // being replaced
  }
}

/**
 * Deletes the chunks echolog is done with: those it has counted in session.json (finished or
 * incomplete), never one whose row just appeared — echolog reads its header after the row, and a
 * chunk deleted under it is logged `chunk_unreadable` (ERROR) and counted incomplete: the log and
 * the counts would measure the bench. One run numbers its chunks from 1, so seq = chunk number.
 */
function pruneChunks(dir, stats) {
  const handled = stats.chunks + (stats.incomplete_chunks ?? 0);
  for (const file of fs.readdirSync(dir)) {
    const n = /^chunk_(\d+)\.wav$/.exec(file)?.[1];
    if (n !== undefined && Number(n) <= handled) fs.rmSync(path.join(dir, file), { force: true });
  }
}

/** Asks the probe for the heap after a full GC; waits for its line (bounded: 5 s). */
async function heapAfterGc(child, file) {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').length : 0;
  child.kill('SIGUSR2');
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 20));
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (text.length > before && text.endsWith('\n')) return round(JSON.parse(text.slice(before).trim()).heapUsed / 1048576, 2);
  }
  return undefined;
}

/** Records `seconds` of audio with `args`, sampling every `periodS` of audio; returns the samples and verdict. */
async function soak(label, seconds, args, env, { prune }) {
  const box = makeSandbox(`soak-${label}`);
  try {
    const periodS = seconds >= 6 * 3600 ? 3600 : seconds / 6;
    const chunksPerPeriod = Math.round(periodS / SEGMENT_S);
    const { spawn } = await import('node:child_process');
    const heapFile = process.env.BENCH_SOAK_HEAP === '1' ? path.join(box.root, 'heap.jsonl') : undefined;
    const probe = heapFile
      ? [process.execPath, '--expose-gc', '--import', new URL('./soak-heap-probe.mjs', import.meta.url).href, BIN]
      : [BIN];
    const child = spawn(
      probe[0],
      [
        ...probe.slice(1),
        'record',
        '-q',
        '--session-id',
        label,
        '--segment-time',
        String(SEGMENT_S),
        '--duration',
        String(seconds),
        ...args,
      ],
      {
        cwd: box.home,
        env: { ...box.env, ...env, ...(heapFile ? { BENCH_SOAK_HEAP_FILE: heapFile } : {}) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let done = false;
    exited.then(() => (done = true));
    const dir = path.join(box.recordings, label);
    const samples = [];
    const t0 = Date.now();
    // Bounded: the run ends by its --duration; twice its real length (plus 10 min) is the deadline.
    const deadline = t0 + (args.includes('--no-realtime') ? 3 * 3600_000 : seconds * 2000 + 600_000);
    while (!done) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${label}: still running after ${round((Date.now() - t0) / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
      const stats = fs.existsSync(dir) ? sessionStats(dir) : undefined;
      if (stats === undefined) continue;
      const chunks = stats.chunks;
      if (prune) pruneChunks(dir, stats);
      const next = (samples.length + 1) * chunksPerPeriod;
      // The last period ends with the exit (its sample would catch echolog closing its files): none is taken.
      if (chunks >= next && next * SEGMENT_S < seconds && !done) {
        try {
          const status = procStatus(child.pid);
          // At the last chunk echolog is ending (its memory already released): that is no sample.
          if (Number.isNaN(status.rss_mb)) continue;
          samples.push({
            audio_h: round((next * SEGMENT_S) / 3600, 3),
            chunks,
            wall_s: round((Date.now() - t0) / 1000, 1),
            ...status,
            fds: fs.readdirSync(`/proc/${child.pid}/fd`).length,
            log_bytes: logBytes(dir),
          });
          const s = samples.at(-1);
          if (heapFile) s.heap_used_after_gc_mb = await heapAfterGc(child, heapFile);
          console.log(
            `  ${label} ${s.audio_h} h audio (${s.wall_s} s): rss ${s.rss_mb} MB, fds ${s.fds}, threads ${s.threads}, session.log ${s.log_bytes} B${heapFile ? `, heap after gc ${s.heap_used_after_gc_mb} MB` : ''}`,
          );
        } catch {
          // echolog exited between the check and the read
        }
      }
    }
    const exit = await exited;
    if (exit.code !== 0) throw new Error(`${label}: echolog record exited ${exit.code ?? exit.signal}: ${stderr}`);
    const logGrowth = samples.map((s, i) => s.log_bytes - (i === 0 ? 0 : samples[i - 1].log_bytes));
    samples.forEach((s, i) => (s.log_bytes_in_period = logGrowth[i]));
    const second = samples[1];
    const last = samples.at(-1);
    const ratios =
      second && last
        ? {
            rss: round(last.rss_mb / second.rss_mb, 3),
            fds: round(last.fds / second.fds, 3),
            threads: round(last.threads / second.threads, 3),
            log_bytes_in_period: round(last.log_bytes_in_period / second.log_bytes_in_period, 3),
          }
        : {};
    // Reported beside the verdict, not part of it (the probe is off in the measured configuration).
    const heap =
      heapFile && second?.heap_used_after_gc_mb && last?.heap_used_after_gc_mb
        ? { heap_used_after_gc: round(last.heap_used_after_gc_mb / second.heap_used_after_gc_mb, 3) }
        : {};
    return {
      audio_s: seconds,
      period_s: periodS,
      wall_s: round((Date.now() - t0) / 1000, 1),
      samples,
      last_vs_second: ratios,
      ...heap,
      target: FLAT,
      met: samples.length >= 3 && Object.values(ratios).every((r) => r <= FLAT),
    };
  } finally {
    box.cleanup();
  }
}

export async function benchSoak() {
  const fullS = Number(process.env.BENCH_SOAK_FULL_S ?? 24 * 3600);
  const liveS = Number(process.env.BENCH_SOAK_LIVE_S ?? 2 * 3600);
  const result = {};
  if (fullS > 0) {
    result.full_speed = await soak(
      'full',
      fullS,
      [
        '--input-format',
        'lavfi',
        '--input',
        'sine=frequency=440:sample_rate=16000',
        '--sample-rate',
        '16000',
        '--channels',
        '1',
        '--no-realtime',
        '--engine',
        'none',
      ],
      {},
      { prune: true },
    );
  }
  if (liveS > 0) {
    const box = makeSandbox('soak-speech');
    try {
      const speech = await makeSpeech(box.root, 120);
      result.live = await soak(
        'live',
        liveS,
        [
          '--input-format',
          'lavfi',
          '--input',
          `amovie=${speech.file}:loop=0,asetpts=N/SR/TB`,
          '--sample-rate',
          '16000',
          '--channels',
          '1',
          '--engine',
          'pocketsphinx',
        ],
        { ECHOLOG_ENGINE: 'pocketsphinx' },
        { prune: false },
      );
    } finally {
      box.cleanup();
    }
  }
  return result;
}

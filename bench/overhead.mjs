// Recording overhead (issue 3, G5) and log volume at info: 2 h of lavfi audio, --no-realtime, 10 s chunks.
//
// CPU is measured with GNU time around each process, side by side in the same run:
//   echolog tree  = GNU time around bin/echolog: echolog + every child it reaped (ffmpeg, the orphan watchdog:
//                   echolog SIGTERMs and reaps it after each ffmpeg run, so its CPU is in the tree)
//   ffmpeg        = GNU time inside the ffmpeg wrapper echolog runs (ECHOLOG_FFMPEG)
//   echolog own   = tree − ffmpeg (includes Node start-up and the watchdog process)
//   self-reported = process.cpuUsage() in session_stop (the main process from start to the stop line)
//   bare ffmpeg   = GNU time around ffmpeg with the identical argv (from the ffmpeg_command line), another folder
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseShell } from 'shell-quote';
import {
  BIN,
  sineRecordArgs,
  TWO_HOURS,
  ffmpegArgvFromLog,
  logFiles,
  makeSandbox,
  median,
  readLogFile,
  readTimeFile,
  removeChunks,
  requireTool,
  round,
  runTimed,
  sumLogBytes,
  writeTimedFfmpegWrapper,
} from './lib.mjs';

/** Issue 19 §2: 2 h at full speed, 10 s chunks, no engine (it was 0.6 s/h before supervision grew). */
export const TARGET_OWN_CPU_PER_HOUR = 0.6;
export const TARGET_LOG_BYTES_PER_HOUR = 100 * 1024;

/** One echolog recording under GNU time, its ffmpeg timed by the wrapper. */
async function runEcholog(sandbox, realFfmpeg, sessionId, audioSeconds, bin = BIN) {
  const ffTime = path.join(sandbox.root, `${sessionId}.ffmpeg.time`);
  const wrapper = writeTimedFfmpegWrapper(sandbox.root, realFfmpeg, ffTime);
  const result = await runTimed(bin, sineRecordArgs({ sessionId, audioSeconds }), {
    cwd: sandbox.root,
    env: { ...sandbox.env, ECHOLOG_FFMPEG: wrapper },
  });
  if (result.code !== 0) throw new Error(`echolog record exited ${result.code}: ${result.stderr}`);
  const sessionDir = path.join(sandbox.recordings, sessionId);
  const lines = logFiles(sessionDir).ordered.flatMap((file) => readLogFile(file).lines);
  const stop = lines.at(-1);
  if (stop?.message !== 'session_stop') throw new Error('session_stop is not the last line');
  const ffmpeg = readTimeFile(ffTime);
  const argv = ffmpegArgvFromLog(lines);
  const logBytes = sumLogBytes(sessionDir);
  removeChunks(sessionDir);
  return {
    sessionDir,
    argv: argv.slice(1),
    chunks: Number(stop.fields.chunks),
    tree: result.rusage,
    ffmpeg,
    self: { user: Number(stop.fields.cpu_user_s), system: Number(stop.fields.cpu_system_s) },
    logBytes,
    logLines: lines.length,
  };
}

/** The ffmpeg argv (without the binary) from `echolog record --dry-run`'s `command:` line. */
function dryRunArgv(stdout) {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.trim() === 'command:');
  if (at < 0) throw new Error(`no command: line in --dry-run output:\n${stdout}`);
  const argv = parseShell(lines[at + 1].trim());
  if (argv.some((part) => typeof part !== 'string')) throw new Error(`--dry-run command is not a plain argv: ${lines[at + 1]}`);
  return argv.slice(1);
}

/** The same capture as bare ffmpeg: identical argv, pointed at another folder. */
async function runBare(sandbox, realFfmpeg, argv, sessionDir, name) {
  const dir = path.join(sandbox.root, name);
  fs.mkdirSync(dir);
  const args = argv.map((arg) => arg.split(sessionDir).join(dir));
  // stdin a pipe kept open, stdout/stderr drained: what echolog gives its ffmpeg.
  const result = await runTimed(realFfmpeg, args, { cwd: dir, stdin: 'pipe' });
  if (result.code !== 0) throw new Error(`bare ffmpeg exited ${result.code}: ${result.stderr.slice(-2000)}`);
  const rows = fs.readFileSync(path.join(dir, 'segments.csv'), 'utf8').trim().split('\n').length;
  removeChunks(dir);
  return { rusage: result.rusage, chunks: rows };
}

export async function benchOverhead({ repeats = 3, audioSeconds = TWO_HOURS, log = console.log } = {}) {
  const realFfmpeg = requireTool('ffmpeg', 'install ffmpeg');
  requireTool('/usr/bin/time', 'install the Debian package `time` (.ci/run does)');
  const sandbox = makeSandbox('overhead');
  const hours = audioSeconds / 3600;
  const runs = [];
  const startup = [];
  // BENCH_BASELINE=<checkout with dist/ built>: that build's own CPU too, in the same repeats (order alternated).
  const baselineBin = process.env.BENCH_BASELINE ? path.join(path.resolve(process.env.BENCH_BASELINE), 'bin', 'echolog') : undefined;
  const baselineOwn = [];
  const runBaseline = async (i) => {
    if (!baselineBin) return;
    const result = await runEcholog(sandbox, realFfmpeg, `baseline-${i}`, audioSeconds, baselineBin);
    baselineOwn.push(result.tree.cpu - result.ffmpeg.cpu);
    log(`  overhead baseline run ${i + 1}/${repeats}: echolog own ${round(result.tree.cpu - result.ffmpeg.cpu)} s`);
  };
  try {
    for (let i = 0; i < repeats; i++) {
      const sessionId = `overhead-${i}`;
      // --dry-run gives the argv before recording (and its CPU is echolog's fixed start-up cost:
      // Node, config, planning); session_stop's ffmpeg_command must match it exactly.
      const dry = await runTimed(BIN, [...sineRecordArgs({ sessionId, audioSeconds }), '--dry-run'], {
        cwd: sandbox.root,
        env: sandbox.env,
      });
      if (dry.code !== 0) throw new Error(`echolog record --dry-run exited ${dry.code}: ${dry.stderr}`);
      startup.push(dry.rusage.cpu);
      const argv = dryRunArgv(dry.stdout);
      const sessionDir = path.join(sandbox.recordings, sessionId);
      // Alternate the order so drift in the machine's load falls on both sides alike.
      let echolog;
      let bare;
      if (i % 2 === 1) bare = await runBare(sandbox, realFfmpeg, argv, sessionDir, `bare-${i}`);
      if (i % 2 === 1) await runBaseline(i);
      echolog = await runEcholog(sandbox, realFfmpeg, sessionId, audioSeconds);
      if (i % 2 === 0) await runBaseline(i);
      if (i % 2 === 0) bare = await runBare(sandbox, realFfmpeg, argv, sessionDir, `bare-${i}`);
      if (JSON.stringify(echolog.argv) !== JSON.stringify(argv)) {
        throw new Error(`ffmpeg_command differs from --dry-run:\n${echolog.argv.join(' ')}\n${argv.join(' ')}`);
      }
      const own = echolog.tree.cpu - echolog.ffmpeg.cpu;
      const run = {
        echolog_tree_cpu_s: round(echolog.tree.cpu),
        echolog_ffmpeg_cpu_s: round(echolog.ffmpeg.cpu),
        echolog_own_cpu_s: round(own),
        echolog_self_reported_cpu_s: round(echolog.self.user + echolog.self.system),
        bare_ffmpeg_cpu_s: round(bare.rusage.cpu),
        ratio_echolog_plus_ffmpeg_to_bare: round(echolog.tree.cpu / bare.rusage.cpu, 4),
        echolog_wall_s: round(echolog.tree.elapsed, 2),
        bare_wall_s: round(bare.rusage.elapsed, 2),
        echolog_max_rss_mb: round(echolog.tree.maxRssKb / 1024, 1),
        chunks: echolog.chunks,
        bare_chunks: bare.chunks,
        log_bytes: echolog.logBytes,
        log_lines: echolog.logLines,
      };
      if (run.chunks !== run.bare_chunks) throw new Error(`echolog made ${run.chunks} chunks, bare ffmpeg ${run.bare_chunks}`);
      runs.push(run);
      log(
        `  overhead run ${i + 1}/${repeats}: echolog own ${run.echolog_own_cpu_s} s, ffmpeg ${run.echolog_ffmpeg_cpu_s} s, bare ${run.bare_ffmpeg_cpu_s} s, ratio ${run.ratio_echolog_plus_ffmpeg_to_bare}`,
      );
    }
  } finally {
    sandbox.cleanup();
  }
  const med = (key) => median(runs.map((r) => r[key]));
  const ownPerHour = med('echolog_own_cpu_s') / hours;
  const startupCpu = median(startup);
  return {
    audio_hours: hours,
    repeats,
    runs,
    startup_cpu_s: round(startupCpu),
    median: {
      echolog_own_cpu_s: round(med('echolog_own_cpu_s')),
      echolog_own_cpu_s_per_audio_hour: round(ownPerHour),
      echolog_own_minus_startup_cpu_s_per_audio_hour: round((med('echolog_own_cpu_s') - startupCpu) / hours),
      echolog_self_reported_cpu_s_per_audio_hour: round(med('echolog_self_reported_cpu_s') / hours),
      echolog_ffmpeg_cpu_s: round(med('echolog_ffmpeg_cpu_s')),
      bare_ffmpeg_cpu_s: round(med('bare_ffmpeg_cpu_s')),
      ratio_echolog_plus_ffmpeg_to_bare: round(med('ratio_echolog_plus_ffmpeg_to_bare'), 4),
      log_bytes: med('log_bytes'),
      log_bytes_per_audio_hour: Math.round(med('log_bytes') / hours),
    },
    baseline: baselineBin
      ? { bin: baselineBin, own_cpu_s: baselineOwn.map((v) => round(v)), own_cpu_s_per_audio_hour: round(median(baselineOwn) / hours) }
      : undefined,
    target_own_cpu_s_per_audio_hour: TARGET_OWN_CPU_PER_HOUR,
    met: ownPerHour <= TARGET_OWN_CPU_PER_HOUR,
  };
}

/** Log volume at info, from the overhead runs (or one run of its own when run alone). */
export async function benchLogVolume({ overhead, audioSeconds = TWO_HOURS, log = console.log } = {}) {
  let bytes;
  let lines;
  let hours = audioSeconds / 3600;
  let source = 'overhead runs (median)';
  if (overhead) {
    bytes = overhead.median.log_bytes;
    lines = median(overhead.runs.map((r) => r.log_lines));
    hours = overhead.audio_hours;
  } else {
    const realFfmpeg = requireTool('ffmpeg', 'install ffmpeg');
    const sandbox = makeSandbox('logvolume');
    try {
      const result = await runEcholog(sandbox, realFfmpeg, 'logvolume', audioSeconds);
      bytes = result.logBytes;
      lines = result.logLines;
      source = 'one run of its own';
    } finally {
      sandbox.cleanup();
    }
  }
  const perHour = bytes / hours;
  log(`  log volume: ${bytes} bytes, ${lines} lines for ${hours} h (${source})`);
  return {
    source,
    audio_hours: hours,
    segment_time_s: 10,
    log_bytes: bytes,
    log_lines: lines,
    bytes_per_line: Math.round(bytes / lines),
    bytes_per_audio_hour: Math.round(perHour),
    target_bytes_per_audio_hour: TARGET_LOG_BYTES_PER_HOUR,
    met: perHour < TARGET_LOG_BYTES_PER_HOUR,
  };
}

/**
 * echolog's CPU at live pace (issue 19 §2). Each build records a real-time (-re) lavfi sine with 10 s
 * chunks for BENCH_LIVE_SECONDS (600 by default). Two measures, side by side:
 *   steady  = the CPU of the echolog node process (every thread: main, libuv pool, V8's GC and compiler
 *             workers; /proc/<pid>/task/<tid>/schedstat, ns) sampled every LIVE_SAMPLE_S from LIVE_SKIP_S in
 *             to the last sample before the stop: no start-up, no stop, only what an hour of recording
 *             repeats (per-chunk work, wake-ups, the GCs it causes). The per-interval rates show the noise.
 *   difference = session_stop's self-reported CPU of the long run minus a 1 s run's (start-up and stop),
 *             over the difference in audio: the earlier measure, kept as a cross-check.
 * BENCH_BASELINE=<checkout with dist/ built> records that build at the same time (in parallel: the same
 * machine load for both; CPU time is per process, so neither is charged for the other).
 */
export const TARGET_LIVE_CPU_PER_HOUR = 2.0;
const LIVE_SAMPLE_S = 30;
/**
 * The steady window starts this long after echolog wrote its pid: past start-up and past V8's memory
 * reducer, which once after start-up runs one or two full GCs of the start-up heap (~50 ms of CPU,
 * seen 16–81 s in). That is the session's cost, not the hour's; the difference measure keeps it.
 */
const LIVE_SKIP_S = 120;

export async function benchLive({ seconds = Number(process.env.BENCH_LIVE_SECONDS ?? 600), log = console.log } = {}) {
  const realFfmpeg = requireTool('ffmpeg', 'install ffmpeg');
  const builds = [{ label: 'this build', bin: BIN }];
  if (process.env.BENCH_BASELINE)
    builds.push({
      label: `baseline ${process.env.BENCH_BASELINE}`,
      bin: path.join(path.resolve(process.env.BENCH_BASELINE), 'bin', 'echolog'),
    });
  const results = await Promise.all(builds.map((build) => measureLiveBuild(build, realFfmpeg, seconds, log)));
  const [self, baseline] = results;
  return {
    mode: 'realtime (-re), 10 s chunks',
    seconds,
    ...self,
    baseline,
    target_own_cpu_s_per_audio_hour: TARGET_LIVE_CPU_PER_HOUR,
    met: self.steady.cpu_s_per_audio_hour <= TARGET_LIVE_CPU_PER_HOUR,
  };
}

async function measureLiveBuild(build, realFfmpeg, seconds, log) {
  const sandbox = makeSandbox('live');
  const measure = async (sessionId, audioSeconds, sample) => {
    const ffTime = path.join(sandbox.root, `${sessionId}.ffmpeg.time`);
    const wrapper = writeTimedFfmpegWrapper(sandbox.root, realFfmpeg, ffTime);
    const args = sineRecordArgs({ sessionId, audioSeconds, realtime: true });
    const sessionDir = path.join(sandbox.recordings, sessionId);
    const sampling = sample ? sampleProcessCpu(sessionDir) : undefined;
    const result = await runTimed(build.bin, args, { cwd: sandbox.root, env: { ...sandbox.env, ECHOLOG_FFMPEG: wrapper } });
    if (result.code !== 0) throw new Error(`${build.label}: echolog record exited ${result.code}: ${result.stderr}`);
    const stop = readLogFile(path.join(sessionDir, 'session.log')).lines.at(-1);
    const ffmpeg = readTimeFile(ffTime);
    removeChunks(sessionDir);
    return {
      audio_s: Number(stop.fields.audio_duration_s),
      own_cpu_s: round(result.rusage.cpu - ffmpeg.cpu),
      self_cpu_s: round(Number(stop.fields.cpu_user_s) + Number(stop.fields.cpu_system_s)),
      ffmpeg_cpu_s: round(ffmpeg.cpu),
      wall_s: round(result.rusage.elapsed, 2),
      samples: sampling ? await sampling.done() : undefined,
    };
  };
  try {
    const short = await measure('live-1s', 1, false);
    const long = await measure(`live-${seconds}s`, seconds, true);
    const span = long.audio_s - short.audio_s;
    const perHour = ((long.own_cpu_s - short.own_cpu_s) / span) * 3600;
    const selfPerHour = ((long.self_cpu_s - short.self_cpu_s) / span) * 3600;
    const ffmpegPerHour = ((long.ffmpeg_cpu_s - short.ffmpeg_cpu_s) / span) * 3600;
    const steady = steadyRate(long.samples);
    log(
      `  live (${build.label}): ${seconds} s real time, 10 s chunks: steady ${steady.cpu_s_per_audio_hour} s/h over ${steady.window_s} s (per ${LIVE_SAMPLE_S} s: min ${steady.interval_min} / median ${steady.interval_median} / max ${steady.interval_max} s/h); difference: self-reported ${round(selfPerHour, 2)} s/h, own ${round(perHour, 2)} s/h; ffmpeg ${round(ffmpegPerHour, 2)} s/h`,
    );
    return {
      build: build.label,
      runs: { short: { ...short, samples: undefined }, long: { ...long, samples: undefined } },
      steady,
      echolog_own_cpu_s_per_audio_hour: round(perHour, 3),
      echolog_self_reported_cpu_s_per_audio_hour: round(selfPerHour, 3),
      ffmpeg_cpu_s_per_audio_hour: round(ffmpegPerHour, 3),
    };
  } finally {
    sandbox.cleanup();
  }
}

/**
 * Samples the CPU of the echolog process recording into `sessionDir` (its pid from session.json) every
 * LIVE_SAMPLE_S until it exits: the sum of its threads' run time (schedstat, ns) and utime + stime
 * (/proc/<pid>/stat, clock ticks, which keeps the time of threads that ended) — both, to cross-check.
 */
function sampleProcessCpu(sessionDir) {
  const samples = [];
  let stopped = false;
  const read = (pid) => {
    try {
      const tasks = fs.readdirSync(`/proc/${pid}/task`);
      let ns = 0;
      let mainNs = 0;
      for (const tid of tasks) {
        const run = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        ns += run;
        if (tid === String(pid)) mainNs = run;
      }
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { t: performance.now() / 1000, ns, mainNs, ticks: Number(fields[11]) + Number(fields[12]) };
    } catch {
      return undefined; // exited (or not yet there)
    }
  };
  const loop = (async () => {
    let pid;
    for (let i = 0; i < 600 && pid === undefined && !stopped; i++) {
      try {
        pid = JSON.parse(fs.readFileSync(path.join(sessionDir, 'session.json'), 'utf8')).pid;
      } catch {
        await sleep(100);
      }
    }
    if (pid === undefined) return;
    const started = performance.now() / 1000;
    let next = started + LIVE_SKIP_S;
    for (;;) {
      await sleep(Math.max(0, (next - performance.now() / 1000) * 1000));
      const sample = read(pid);
      if (!sample || stopped) return;
      samples.push(sample);
      next += LIVE_SAMPLE_S;
    }
  })();
  return {
    done: async () => {
      stopped = true;
      await loop;
      // The last sample may be taken while echolog stops (session_stop, the final session.json): dropped.
      return samples.slice(0, -1);
    },
  };
}

/** CPU seconds per audio hour between the first and the last sample (audio = wall at live pace), and per interval. */
function steadyRate(samples) {
  if (!samples || samples.length < 2) return { cpu_s_per_audio_hour: NaN, window_s: 0 };
  const first = samples[0];
  const last = samples.at(-1);
  const window = last.t - first.t;
  const perInterval = samples.slice(1).map((s, i) => ((s.ns - samples[i].ns) / 1e9 / (s.t - samples[i].t)) * 3600);
  return {
    cpu_s_per_audio_hour: round(((last.ns - first.ns) / 1e9 / window) * 3600, 3),
    // The JavaScript thread's share; the rest is libuv's pool (file I/O) and V8's workers (GC, compiling).
    main_thread_cpu_s_per_audio_hour: round(((last.mainNs - first.mainNs) / 1e9 / window) * 3600, 3),
    ticks_cpu_s_per_audio_hour: round(((last.ticks - first.ticks) / 100 / window) * 3600, 3),
    window_s: round(window, 1),
    intervals: perInterval.length,
    interval_min: round(Math.min(...perInterval), 2),
    interval_median: round(median(perInterval), 2),
    interval_max: round(Math.max(...perInterval), 2),
  };
}

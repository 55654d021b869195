// Recording overhead (issue 3, G5) and log volume at info: 2 h of lavfi audio, --no-realtime, 10 s chunks.
//
// CPU is measured with GNU time around each process, side by side in the same run:
//   echolog tree  = GNU time around bin/echolog: echolog + every child it reaped (ffmpeg, the orphan watchdog)
//   ffmpeg        = GNU time inside the ffmpeg wrapper echolog runs (ECHOLOG_FFMPEG)
//   echolog own   = tree − ffmpeg (includes Node start-up and the watchdog process)
//   self-reported = process.cpuUsage() in session_stop (the main process from start to the stop line)
//   bare ffmpeg   = GNU time around ffmpeg with the identical argv (from the ffmpeg_command line), another folder
import fs from 'node:fs';
import path from 'node:path';
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

export const TARGET_OWN_CPU_PER_HOUR = 3.6;
export const TARGET_LOG_BYTES_PER_HOUR = 100 * 1024;

/** One echolog recording under GNU time, its ffmpeg timed by the wrapper. */
async function runEcholog(sandbox, realFfmpeg, sessionId, audioSeconds) {
  const ffTime = path.join(sandbox.root, `${sessionId}.ffmpeg.time`);
  const wrapper = writeTimedFfmpegWrapper(sandbox.root, realFfmpeg, ffTime);
  const result = await runTimed(BIN, sineRecordArgs({ sessionId, audioSeconds }), { cwd: sandbox.root, env: { ...sandbox.env, ECHOLOG_FFMPEG: wrapper } });
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
  try {
    for (let i = 0; i < repeats; i++) {
      const sessionId = `overhead-${i}`;
      // --dry-run gives the argv before recording (and its CPU is echolog's fixed start-up cost:
      // Node, config, planning); session_stop's ffmpeg_command must match it exactly.
      const dry = await runTimed(BIN, [...sineRecordArgs({ sessionId, audioSeconds }), '--dry-run'], { cwd: sandbox.root, env: sandbox.env });
      if (dry.code !== 0) throw new Error(`echolog record --dry-run exited ${dry.code}: ${dry.stderr}`);
      startup.push(dry.rusage.cpu);
      const argv = dryRunArgv(dry.stdout);
      const sessionDir = path.join(sandbox.recordings, sessionId);
      // Alternate the order so drift in the machine's load falls on both sides alike.
      let echolog;
      let bare;
      if (i % 2 === 1) bare = await runBare(sandbox, realFfmpeg, argv, sessionDir, `bare-${i}`);
      echolog = await runEcholog(sandbox, realFfmpeg, sessionId, audioSeconds);
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
      log(`  overhead run ${i + 1}/${repeats}: echolog own ${run.echolog_own_cpu_s} s, ffmpeg ${run.echolog_ffmpeg_cpu_s} s, bare ${run.bare_ffmpeg_cpu_s} s, ratio ${run.ratio_echolog_plus_ffmpeg_to_bare}`);
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
    target_own_cpu_s_per_audio_hour: TARGET_OWN_CPU_PER_HOUR,
    met: ownPerHour < TARGET_OWN_CPU_PER_HOUR,
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
 * echolog's CPU at live pace: a real-time (-re) lavfi recording with 10 s chunks against a 1 s one
 * (which is all start-up and stop), both under GNU time with the timed ffmpeg wrapper. The difference
 * of echolog's own CPU over the difference in audio is its steady cost per hour when recording live:
 * per-chunk work done cold every 10 s, plus whatever wakes it in between.
 */
export async function benchLive({ seconds = 120, log = console.log } = {}) {
  const realFfmpeg = requireTool('ffmpeg', 'install ffmpeg');
  const sandbox = makeSandbox('live');
  const measure = async (sessionId, audioSeconds) => {
    const ffTime = path.join(sandbox.root, `${sessionId}.ffmpeg.time`);
    const wrapper = writeTimedFfmpegWrapper(sandbox.root, realFfmpeg, ffTime);
    const args = sineRecordArgs({ sessionId, audioSeconds, realtime: true });
    const result = await runTimed(BIN, args, { cwd: sandbox.root, env: { ...sandbox.env, ECHOLOG_FFMPEG: wrapper } });
    if (result.code !== 0) throw new Error(`echolog record exited ${result.code}: ${result.stderr}`);
    const stop = readLogFile(path.join(sandbox.recordings, sessionId, 'session.log')).lines.at(-1);
    const ffmpeg = readTimeFile(ffTime);
    return {
      audio_s: Number(stop.fields.audio_duration_s),
      own_cpu_s: round(result.rusage.cpu - ffmpeg.cpu),
      self_cpu_s: round(Number(stop.fields.cpu_user_s) + Number(stop.fields.cpu_system_s)),
      ffmpeg_cpu_s: round(ffmpeg.cpu),
      wall_s: round(result.rusage.elapsed, 2),
    };
  };
  try {
    const short = await measure('live-1s', 1);
    const long = await measure(`live-${seconds}s`, seconds);
    const span = long.audio_s - short.audio_s;
    const perHour = ((long.own_cpu_s - short.own_cpu_s) / span) * 3600;
    const selfPerHour = ((long.self_cpu_s - short.self_cpu_s) / span) * 3600;
    const ffmpegPerHour = ((long.ffmpeg_cpu_s - short.ffmpeg_cpu_s) / span) * 3600;
    log(`  live: ${seconds} s real time, 10 s chunks: echolog own ${long.own_cpu_s} s vs ${short.own_cpu_s} s for 1 s → ${round(perHour, 2)} s/h (self-reported ${round(selfPerHour, 2)} s/h), ffmpeg ${round(ffmpegPerHour, 2)} s/h`);
    return {
      mode: 'realtime (-re), 10 s chunks',
      runs: { short, long },
      echolog_own_cpu_s_per_audio_hour: round(perHour, 3),
      echolog_self_reported_cpu_s_per_audio_hour: round(selfPerHour, 3),
      ffmpeg_cpu_s_per_audio_hour: round(ffmpegPerHour, 3),
      target_own_cpu_s_per_audio_hour: TARGET_OWN_CPU_PER_HOUR,
      // The difference of two short runs is ~0.1 s: the self-reported figure (µs resolution, no watchdog
      // start-up in it) is the steadier of the two, so the verdict uses it.
      met: selfPerHour < TARGET_OWN_CPU_PER_HOUR,
    };
  } finally {
    sandbox.cleanup();
  }
}

// ffmpeg flooding stderr (issue 8 row 2): node's peak RSS, log bytes and how fast a session ends.
//
// Two real floods through the built CLI, --no-realtime, 8 kHz, 16-sample frames/packets:
//   same: `volume=volume=0/0:eval=frame` warns "Invalid value NaN for volume" once per frame
//         (identical lines, 500 per second of audio); ends by --duration. Its wall time is compared
//         with bare ffmpeg running the logged command, stderr a drained pipe, side by side.
//   dts:  the repro, a looped `amovie` of flite speech: "Non-monotonous DTS …" per packet
//         (distinct lines). Its timestamps never reach --duration 1800 on ffmpeg 5.1, so it is stopped
//         with SIGINT after FLOOD_SECONDS; the figure is how long the stop takes.
// Peak RSS is VmHWM of the echolog (node) process itself, read from /proc while it runs.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseShell } from 'shell-quote';
import { logFiles, makeSandbox, readLogFile, requireTool, round, run, runCliPeakRss } from './lib.mjs';

const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 20);
const SAME_AUDIO_SECONDS = 1200;
const RSS_LIMIT_MB = 250;

function summarizeLog(sessionDir) {
  const { ordered } = logFiles(sessionDir);
  const lines = ordered.flatMap((file) => readLogFile(file).lines);
  const sum = (message) => lines.filter((l) => l.message === message).reduce((n, l) => n + Number(l.fields.count), 0);
  return {
    log_bytes: ordered.reduce((n, file) => n + fs.statSync(file).size, 0),
    log_files: ordered.length,
    ffmpeg_lines_written: lines.filter((l) => l.message === 'ffmpeg_stderr').length,
    repeated_counted: sum('ffmpeg_stderr_repeated'),
    dropped_counted: sum('ffmpeg_stderr_dropped'),
    session_start_first: lines[0]?.message === 'session_start',
    session_stop_last: lines.at(-1)?.message === 'session_stop',
    command: lines.find((l) => l.message === 'ffmpeg_command')?.fields.command,
  };
}

/** The logged ffmpeg command, run bare into another folder, its stderr a pipe drained and discarded (as echolog's is a pipe). */
async function bareRun(command, sessionDir, bareDir) {
  const argv = parseShell(command).map((arg) => arg.replaceAll(sessionDir, bareDir));
  const started = performance.now();
  await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', resolve);
  });
  return performance.now() - started;
}

const common = ['--no-realtime', '--segment-time', '10', '--sample-rate', '8000', '--engine', 'none', '-q'];

export async function benchFlood() {
  const flite = requireTool('flite', 'apt-get install flite');
  const sandbox = makeSandbox('flood');
  try {
    // Identical lines, ending by --duration.
    const same = await runCliPeakRss(
      [
        'record',
        '--session-id',
        'same',
        '--input-format',
        'lavfi',
        '--input',
        'sine=sample_rate=8000,asetnsamples=n=16,volume=volume=0/0:eval=frame',
        '--duration',
        String(SAME_AUDIO_SECONDS),
        ...common,
      ],
      { cwd: sandbox.root, env: sandbox.env },
    );
    if (same.code !== 0) throw new Error(`same: echolog exited ${same.code}: ${same.stderr}`);
    const sameDir = path.join(sandbox.recordings, 'same');
    const sameLog = summarizeLog(sameDir);
    const bareDir = path.join(sandbox.root, 'bare');
    fs.mkdirSync(bareDir);
    const bareMs = await bareRun(sameLog.command, sameDir, bareDir);
    const ffmpegLines = (SAME_AUDIO_SECONDS * 8000) / 16;

    // The flood, stopped after FLOOD_SECONDS.
    const speech = path.join(sandbox.root, 'speech.wav');
    execFileSync(flite, ['-t', 'hello world this is a test', speech]);
    const dts = await runCliPeakRss(
      [
        'record',
        '--session-id',
        'dts',
        '--input-format',
        'lavfi',
        '--input',
        `amovie=${speech}:loop=0,asetnsamples=n=16`,
        '--duration',
        '1800',
        ...common,
      ],
      {
        cwd: sandbox.root,
        env: sandbox.env,
        stopAfterMs: FLOOD_SECONDS * 1000,
      },
    );
    if (dts.code !== 130) throw new Error(`dts: echolog exited ${dts.code} (expected 130 after SIGINT): ${dts.stderr}`);
    const dtsLog = summarizeLog(path.join(sandbox.recordings, 'dts'));
    const dtsLines = dtsLog.ffmpeg_lines_written + dtsLog.dropped_counted;
    delete sameLog.command;
    delete dtsLog.command;
    const result = {
      same: {
        audio_s: SAME_AUDIO_SECONDS,
        ffmpeg_stderr_lines_about: ffmpegLines,
        node_peak_rss_mb: round(same.peakKb / 1024, 1),
        echolog_wall_s: round(same.wallMs / 1000, 2),
        bare_ffmpeg_wall_s: round(bareMs / 1000, 2),
        wall_ratio_echolog_to_bare: round(same.wallMs / bareMs, 2),
        ...sameLog,
      },
      dts: {
        flood_s: FLOOD_SECONDS,
        ffmpeg_stderr_lines_seen: dtsLines,
        lines_per_s: round(dtsLines / FLOOD_SECONDS, 0),
        node_peak_rss_mb: round(dts.peakKb / 1024, 1),
        stop_s: round(dts.stopMs / 1000, 2),
        ...dtsLog,
      },
      rss_limit_mb: RSS_LIMIT_MB,
    };
    result.met = result.same.node_peak_rss_mb <= RSS_LIMIT_MB && result.dts.node_peak_rss_mb <= RSS_LIMIT_MB;
    console.log(JSON.stringify(result, null, 2));
    return result;
  } finally {
    sandbox.cleanup();
  }
}

// The session daemon (issue 11): IPC overhead and empty-request latency, and its idle CPU.
//
// A real `echolog daemon` (pocketsphinx) on a private IPC root in a sandbox. This process is the
// client: it writes each request atomically (temp + rename) and timestamps the response when
// fs.watch on the response dir reports it (read synchronously in the handler).
// - empty-request latency: audio under 150 ms (the daemon's filter), request written → response
//   seen; the control, side by side in the same run, is reference-responder.mjs (a minimal Node
//   watcher that answers `results: []` at once) on its own root: the ratio is echolog / control.
// - IPC overhead: speech requests, (request written → response seen) − the engine time the daemon
//   logs for that id (`engine_ms` of its `SESSION transcription` line).
// - idle CPU: utime + stime of the daemon (/proc/<pid>/stat) over an idle minute (heartbeat and
//   fallback poll only).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogLine } from '../dist/logging/line-format.js';
import { BIN, makeSandbox, nowMs, percentile, requireTool, round, run } from './lib.mjs';

const RESPONDER = fileURLToPath(new URL('./reference-responder.mjs', import.meta.url));
export const TARGETS = { overhead_p95_ms: 20, empty_ms: 50 };

function dirsOf(root) {
  return { requests: path.join(root, 'speech_session_requests'), responses: path.join(root, 'speech_session_responses') };
}

/** One request, written atomically; resolves with ms from the rename to the response being seen. */
function roundTrip(root, audioFile, id) {
  const { requests, responses } = dirsOf(root);
  const name = `${id}.json`;
  return new Promise((resolve, reject) => {
    const target = path.join(responses, name);
    let sent;
    const watcher = fs.watch(responses, (_event, changed) => {
      if (changed !== name || sent === undefined || !fs.existsSync(target)) return;
      const seen = nowMs();
      watcher.close();
      clearTimeout(timer);
      const response = JSON.parse(fs.readFileSync(target, 'utf8'));
      fs.rmSync(target);
      resolve({ ms: seen - sent, response });
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`no response to ${id} within 30 s`));
    }, 30_000);
    const temp = path.join(requests, `${name}.tmp`);
    fs.writeFileSync(temp, JSON.stringify({ id, audio_file: audioFile, timestamp: Date.now() / 1000 }));
    sent = nowMs();
    fs.renameSync(temp, path.join(requests, name));
  });
}

function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const stats = (values) => ({
  n: values.length,
  p50_ms: round(percentile(values, 50), 2),
  p95_ms: round(percentile(values, 95), 2),
  max_ms: round(Math.max(...values), 2),
});

export async function benchDaemon({
  emptyRequests = 60,
  speechRequests = 20,
  idleSeconds = Number(process.env.BENCH_DAEMON_IDLE_S ?? 60),
  log = console.log,
} = {}) {
  requireTool('pocketsphinx_continuous', 'apt-get install pocketsphinx pocketsphinx-en-us');
  requireTool('flite', 'apt-get install flite');
  const sandbox = makeSandbox('daemon');
  const root = path.join(sandbox.root, 'ipc');
  const controlRoot = path.join(sandbox.root, 'control');
  let daemonPid;
  let control;
  try {
    const raw = path.join(sandbox.root, 'speech-raw.wav');
    const speech = path.join(sandbox.root, 'speech.wav');
    const empty = path.join(sandbox.root, 'empty.wav');
    execFileSync('flite', ['-voice', 'slt', '-t', 'it will be sunny in the afternoon', '-o', raw]);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', raw, '-ar', '16000', '-ac', '1', speech]);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=16000:cl=mono',
      '-t',
      '0.1',
      empty,
    ]);

    const started = await run(BIN, ['daemon', 'start', '--engine', 'pocketsphinx', '--ipc-root', root, '--timeout', '600'], {
      cwd: sandbox.root,
      env: sandbox.env,
    });
    if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
    daemonPid = JSON.parse(fs.readFileSync(path.join(root, 'session_daemon_active'), 'utf8')).pid;
    for (const dir of Object.values(dirsOf(controlRoot))) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    control = spawn(process.execPath, [RESPONDER, ...Object.values(dirsOf(controlRoot))], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => control.stdout.once('data', resolve));

    // Empty requests, alternating echolog and the control so both see the same machine.
    const echologEmpty = [];
    const controlEmpty = [];
    for (let i = 0; i < emptyRequests; i++) {
      const a = await roundTrip(root, empty, `${Date.now()}0${i}`);
      if (a.response.results.length !== 0 || a.response.error)
        throw new Error(`unexpected response to empty audio: ${JSON.stringify(a.response)}`);
      echologEmpty.push(a.ms);
      controlEmpty.push((await roundTrip(controlRoot, empty, `${Date.now()}1${i}`)).ms);
    }
    log(`  empty: echolog p50 ${round(percentile(echologEmpty, 50), 2)} ms, control p50 ${round(percentile(controlEmpty, 50), 2)} ms`);

    const trips = new Map();
    for (let i = 0; i < speechRequests; i++) {
      const id = `${Date.now()}2${i}`;
      const trip = await roundTrip(root, speech, id);
      if (!trip.response.results.join(' ').includes('sunny')) throw new Error(`unexpected transcript: ${JSON.stringify(trip.response)}`);
      trips.set(id, trip.ms);
    }
    // The daemon logs a request after its response is renamed into place (and the dir synced): wait for the last line.
    const engineMs = new Map();
    const inside = [];
    for (
      const deadline = Date.now() + 5000;
      engineMs.size < trips.size && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 50))
    ) {
      engineMs.clear();
      inside.length = 0;
      for (const line of fs.readFileSync(path.join(root, 'session_daemon.log'), 'utf8').split('\n')) {
        const parsed = parseLogLine(line);
        if (parsed?.message === 'SESSION transcription' && trips.has(parsed.fields.id)) {
          engineMs.set(parsed.fields.id, Number(parsed.fields.engine_ms));
          inside.push(Number(parsed.fields.total_ms) - Number(parsed.fields.engine_ms));
        }
      }
    }
    const missing = [...trips.keys()].filter((id) => !engineMs.has(id));
    if (missing.length > 0) throw new Error(`no SESSION transcription line for ${missing.join(', ')}`);
    const overhead = [...trips].map(([id, ms]) => ms - engineMs.get(id));
    log(`  speech: overhead p95 ${round(percentile(overhead, 95), 2)} ms, engine p50 ${percentile([...engineMs.values()], 50)} ms`);

    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const before = cpuTicks(daemonPid);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleCpuMs = ((cpuTicks(daemonPid) - before) / hz) * 1000;
    const empty_ = stats(echologEmpty);
    const control_ = stats(controlEmpty);
    const over = stats(overhead);
    return {
      empty_request: {
        ...empty_,
        target_ms: TARGETS.empty_ms,
        met: empty_.p95_ms <= TARGETS.empty_ms,
        control: control_,
        ratio_p50_to_control: round(empty_.p50_ms / control_.p50_ms, 2),
      },
      ipc_overhead: {
        ...over,
        samples_ms: overhead.map((ms) => round(ms, 1)),
        daemon_side: stats(inside),
        target_p95_ms: TARGETS.overhead_p95_ms,
        met: over.p95_ms <= TARGETS.overhead_p95_ms,
        engine_p50_ms: percentile([...engineMs.values()], 50),
        speech_seconds: 2,
      },
      idle_cpu: { seconds: idleSeconds, cpu_ms: round(idleCpuMs, 1), cpu_ms_per_minute: round((idleCpuMs / idleSeconds) * 60, 1) },
    };
  } finally {
    control?.kill();
    if (daemonPid) await run(BIN, ['daemon', 'stop', '--ipc-root', root], { cwd: sandbox.root, env: sandbox.env });
    sandbox.cleanup();
  }
}

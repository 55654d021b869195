// Chunk latency (issue 3): from the segment-list row being written to `chunk_created` being in session.log.
//
// This process watches the session folder with fs.watch and timestamps each new row of segments.csv
// and each new chunk_created line of session.log as it appears (both read synchronously in the
// event handler, so both sides carry the same observation delay). Pairs are matched by file name.
// A control runs side by side in the same session: reference-logger.mjs, a minimal Node watcher
// that turns each row into a line of its own log. Its latency is what the machine costs by itself.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseLogLine } from '../dist/logging/line-format.js';
import { fileURLToPath } from 'node:url';
import { BIN, LineFollower, sineRecordArgs, TWO_HOURS, makeSandbox, nowMs, percentile, readLogFile, round, waitForEntry } from './lib.mjs';

const REFERENCE = fileURLToPath(new URL('./reference-logger.mjs', import.meta.url));

function logStopLine(file) {
  return readLogFile(file).lines.findLast((l) => l.message === 'session_stop');
}

export const TARGET_P99_MS = 50;
/** A chunk slower than this gets the session.log lines (and `events`) seen around it in the result. */
const SLOW_MS = 30;
/** How far before a slow chunk's row those lines are collected. */
const CONTEXT_BEFORE_MS = 3000;

/**
 * What echolog was doing around each slow chunk: every session.log line (seen by this process,
 * so timed to the ms, unlike the log's own seconds) and every event the caller noted, from
 * CONTEXT_BEFORE_MS before its row until its chunk_created line; times relative to the row.
 */
function explainSlow(perChunk, rowSeen, logSeenAt, lines, events) {
  return perChunk
    .filter((c) => c.ms > SLOW_MS)
    .map((c) => {
      const tRow = rowSeen.get(c.file);
      const near = (t) => t >= tRow - CONTEXT_BEFORE_MS && t <= logSeenAt.get(c.file);
      const around = [...lines.filter((l) => near(l.t)).map((l) => ({ t: l.t, what: l.what })), ...events.filter((e) => near(e.t))]
        .sort((a, b) => a.t - b.t)
        .map((e) => `${round(e.t - tRow, 0)} ms ${e.what}`);
      return { ...c, row_at: new Date(tRow).toISOString(), around };
    });
}

/**
 * Records one session and measures each chunk's latency.
 * realtime: lavfi paced at its native rate (-re), like a live device.
 */
export async function measureChunkLatency({
  bin = BIN,
  label,
  realtime,
  audioSeconds,
  segmentTime,
  extraArgs = [],
  extraEnv = {},
  onStart = () => undefined,
  events = [],
  log = console.log,
}) {
  const sandbox = makeSandbox(`latency-${label}`);
  const sessionId = `latency-${label}`;
  const rowSeen = new Map();
  const logSeen = new Map();
  const refSeen = new Map();
  const logLines = [];
  let followers = [];
  let watcher;
  let refWatcher;
  try {
    const args = sineRecordArgs({ sessionId, audioSeconds, realtime, segmentTime, extra: extraArgs });
    const sessionDirAppears = waitForEntry(sandbox.recordings, sessionId);
    const child = spawn(bin, args, { cwd: sandbox.root, env: { ...sandbox.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    onStart(child);
    const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));

    const sessionDir = await sessionDirAppears;
    // The control, side by side: a minimal Node watcher of the same folder (see reference-logger.mjs).
    const refLog = path.join(sandbox.root, 'reference.log');
    const reference = spawn(process.execPath, [REFERENCE, sessionDir, refLog], { stdio: ['pipe', 'pipe', 'inherit'] });
    const referenceReady = new Promise((resolve) => reference.stdout.once('data', () => resolve(nowMs())));
    const segments = new LineFollower(path.join(sessionDir, 'segments.csv'), (line, t) => {
      const file = line.split(',')[0].replace(/^"|"$/g, '');
      if (!rowSeen.has(file)) rowSeen.set(file, t);
    });
    const sessionLog = new LineFollower(path.join(sessionDir, 'session.log'), (line, t) => {
      const parsed = parseLogLine(line);
      if (!parsed) return;
      if (parsed.message === 'chunk_created') {
        if (!logSeen.has(parsed.fields.file)) logSeen.set(parsed.fields.file, t);
        return;
      }
      const { seq, reason, attempt } = parsed.fields;
      logLines.push({
        t,
        what: [parsed.message, seq && `seq=${seq}`, attempt && `attempt=${attempt}`, reason && `reason="${reason}"`]
          .filter(Boolean)
          .join(' '),
      });
    });
    const referenceLog = new LineFollower(refLog, (line, t) => {
      const file = /file=(\S+)/.exec(line)?.[1];
      if (file && !refSeen.has(file)) refSeen.set(file, t);
    });
    followers = [segments, sessionLog, referenceLog];
    watcher = fs.watch(sessionDir, (_event, name) => {
      if (name === 'segments.csv') segments.poll();
      else if (name === 'session.log') sessionLog.poll();
      else if (name === null) {
        segments.poll();
        sessionLog.poll();
      }
    });
    refWatcher = fs.watch(sandbox.root, (_event, name) => {
      if (name === 'reference.log' || name === null) referenceLog.poll();
    });
    // Anything written before the watch was attached is read now; it is marked and left out.
    const attachedAt = nowMs();
    segments.poll();
    sessionLog.poll();
    const code = await exited;
    if (code !== 0) throw new Error(`echolog record exited ${code}: ${stderr}`);
    segments.poll();
    sessionLog.poll();
    await new Promise((resolve) => setTimeout(resolve, 200));
    referenceLog.poll();
    const refReadyAt = await referenceReady;
    reference.stdin.end();
    const stop = logStopLine(path.join(sessionDir, 'session.log'));

    const latencies = [];
    const refLatencies = [];
    const perChunk = [];
    let missing = 0;
    let beforeAttach = 0;
    for (const [file, tRow] of rowSeen) {
      const tLog = logSeen.get(file);
      if (tLog === undefined) missing++;
      else if (tRow <= attachedAt) beforeAttach++;
      else {
        latencies.push(tLog - tRow);
        perChunk.push({ file, ms: round(tLog - tRow, 2) });
      }
      const tRef = refSeen.get(file);
      if (tRef !== undefined && tRow > refReadyAt) refLatencies.push(tRef - tRow);
    }
    const result = {
      label,
      mode: realtime ? 'realtime (-re)' : '--no-realtime',
      audio_seconds: audioSeconds,
      segment_time_s: segmentTime,
      chunks: rowSeen.size,
      measured: latencies.length,
      never_logged: missing,
      seen_before_watch: beforeAttach,
      p50_ms: round(percentile(latencies, 50), 2),
      p95_ms: round(percentile(latencies, 95), 2),
      p99_ms: round(percentile(latencies, 99), 2),
      max_ms: round(Math.max(...latencies), 2),
      target_p99_ms: TARGET_P99_MS,
      reference: {
        measured: refLatencies.length,
        p50_ms: round(percentile(refLatencies, 50), 2),
        p95_ms: round(percentile(refLatencies, 95), 2),
        p99_ms: round(percentile(refLatencies, 99), 2),
        max_ms: round(Math.max(...refLatencies), 2),
      },
      slowest: [...perChunk].sort((a, b) => b.ms - a.ms).slice(0, 5),
      slow_chunks: explainSlow(perChunk, rowSeen, logSeen, logLines, events),
      echolog_self_cpu_s: round(Number(stop?.fields.cpu_user_s) + Number(stop?.fields.cpu_system_s)),
    };
    result.p99_minus_reference_ms = round(result.p99_ms - result.reference.p99_ms, 2);
    result.met = result.p99_ms <= TARGET_P99_MS && missing === 0;
    log(
      `  latency ${label}: ${result.measured} chunks, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, max ${result.max_ms} ms; reference p50 ${result.reference.p50_ms} ms, p99 ${result.reference.p99_ms} ms`,
    );
    return result;
  } finally {
    watcher?.close();
    refWatcher?.close();
    for (const follower of followers) follower.close();
    sandbox.cleanup();
  }
}

export async function benchLatency({ realtimeSeconds = 60, log = console.log } = {}) {
  // Live pace: one chunk a second for a minute.
  const realtime = await measureChunkLatency({ label: 'realtime', realtime: true, audioSeconds: realtimeSeconds, segmentTime: 1, log });
  // As fast as ffmpeg goes: 720 chunks of 10 s in a few seconds, echolog under full load.
  const burst = await measureChunkLatency({ label: 'no-realtime', realtime: false, audioSeconds: TWO_HOURS, segmentTime: 10, log });
  return { realtime, no_realtime: burst, met: realtime.met };
}

// `echolog sessions list --limit 50` over 10,000 sessions against a bare `node -e 0` (issue 12).
//
// 10,000 synthetic session folders (a session.json each, as `record` writes it, plus a small
// session.log), then, side by side and alternated (node, echolog, echolog, node, ...), the wall time
// from spawn to exit of each. The ratio of the medians is the figure; target ≤ 6.
// The first listing builds .sessions-index/index.json (cold); the measured runs read it (warm). A
// cold listing (index deleted before each run) is measured too, and the first listing after a new
// session appeared (the folder listing changed: every folder is checked against the index).
import fs from 'node:fs';
import path from 'node:path';
import { BIN, makeSandbox, median, round, run } from './lib.mjs';

export const TARGET_RATIO = 6;
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);

function manifest(id, startedMs, index) {
  const statuses = ['completed', 'completed', 'completed', 'error', 'interrupted'];
  return {
    session_id: id,
    status: statuses[index % statuses.length],
    pid: 1000 + (index % 30000),
    pid_start_ticks: 12345,
    ffmpeg_pid: 2000 + (index % 30000),
    ffmpeg_start_ticks: 12346,
    started_at: new Date(startedMs).toISOString(),
    ended_at: new Date(startedMs + 60_000).toISOString(),
    stop_reason: 'duration_reached',
    error: null,
    log_path: `/tmp/recordings/${id}/session.log`,
    log_level: 'info',
    device: 'default',
    input_format: 'pulse',
    sample_rate: 16000,
    channels: 1,
    segment_time: 10,
    engine: 'pocketsphinx',
    model: 'en-us',
    language: 'en',
    resumed_from: null,
    stats: { chunks: 6, audio_duration_seconds: 60, utterance_count: 12, word_count: 80, bytes_on_disk: 1_920_000 + index },
    transcription: {
      engine: 'pocketsphinx',
      state: 'idle',
      pending_chunks: 0,
      lag_seconds: 0,
      transcribed_chunks: 6,
      silent_chunks: 0,
      failed_chunks: 0,
      utterance_count: 12,
      word_count: 80,
      realtime_factor: 0.3,
      model: 'en-us',
    },
  };
}

/** Ids as `record` makes them (a UTC timestamp and 6 hex digits), one a minute, a few named by hand. */
export function makeSessions(recordings, count, prefix = '') {
  const start = Date.parse('2025-01-01T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const startedMs = start + i * 61_000;
    const stamp = new Date(startedMs)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, '');
    const id = prefix
      ? `${prefix}${i}`
      : i % 500 === 0
        ? `named-${i}`
        : `${stamp}-${((i * 2654435761) % 0xffffff).toString(16).padStart(6, '0')}`;
    const dir = path.join(recordings, id);
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'session.json'), `${JSON.stringify(manifest(id, startedMs, i), null, 2)}\n`);
    fs.writeFileSync(
      path.join(dir, 'session.log'),
      `${new Date(startedMs).toISOString().replace(/\.\d{3}Z$/, 'Z')} INFO echolog.session: session_start session_id=${id}\n`,
    );
  }
}

async function timed(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return { ms: result.wallMs, stdout: result.stdout };
}

export async function benchSessionsList({ repeats = 9 } = {}) {
  const runs = Math.max(9, repeats);
  const sandbox = makeSandbox('sessions');
  try {
    makeSessions(sandbox.recordings, SESSIONS);
    const options = { cwd: sandbox.home, env: sandbox.env };
    const list = ['sessions', 'list', '--limit', '50'];
    const index = path.join(sandbox.recordings, '.sessions-index', 'index.json');
    // Past the index's racy window (2 s) so every entry is cacheable, as for sessions recorded earlier.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const cold = [];
    const warm = [];
    const bare = [];
    // The floor: echolog's own start-up (commander, config loading), which every command pays.
    const version = [];
    for (let i = 0; i < 3; i++) {
      fs.rmSync(index, { force: true });
      cold.push((await timed(BIN, list, options)).ms);
    }
    const first = await timed(BIN, [...list, '--json'], options);
    const page = JSON.parse(first.stdout);
    if (page.sessions.length !== 50 || page.pagination.total !== SESSIONS)
      throw new Error(`expected 50 of ${SESSIONS} sessions, got ${page.sessions.length} of ${page.pagination.total}`);
    for (let i = 0; i < runs; i++) {
      // Alternated, so a burst of load from other work hits both sides.
      const order = i % 2 === 0 ? ['node', 'list', 'version'] : ['version', 'list', 'node'];
      for (const which of order) {
        if (which === 'node') bare.push((await timed(process.execPath, ['-e', '0'], options)).ms);
        else if (which === 'list') warm.push((await timed(BIN, list, options)).ms);
        else version.push((await timed(BIN, ['--version'], options)).ms);
      }
    }
    // A new session since the last listing (as after every recording): the listing is read again.
    const touched = [];
    for (let i = 0; i < 3; i++) {
      makeSessions(sandbox.recordings, 1, `new-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      touched.push((await timed(BIN, list, options)).ms);
    }
    const ratio = median(warm) / median(bare);
    return {
      sessions: SESSIONS,
      runs,
      median_node_ms: round(median(bare), 1),
      median_list_warm_ms: round(median(warm), 1),
      median_version_ms: round(median(version), 1),
      ratio_version: round(median(version) / median(bare), 2),
      median_list_cold_ms: round(median(cold), 1),
      median_list_after_new_session_ms: round(median(touched), 1),
      ratio_warm: round(ratio, 2),
      ratio_cold: round(median(cold) / median(bare), 2),
      ratio_after_new_session: round(median(touched) / median(bare), 2),
      index_bytes: fs.statSync(index).size,
      cold_ms: cold.map((v) => round(v, 1)),
      version_ms: version.map((v) => round(v, 1)),
      met: ratio <= TARGET_RATIO,
      node_ms: bare.map((v) => round(v, 1)),
      list_warm_ms: warm.map((v) => round(v, 1)),
    };
  } finally {
    sandbox.cleanup();
  }
}

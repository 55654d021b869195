#!/usr/bin/env node
// `npm run bench` (builds first), or `node bench/run.mjs [overhead|logvolume|live|latency|rotation|flood|logwriter|startup|transcription|livelatency|partials|frozen|daemon|sessions|bigchunks|accuracy|pulse|soak|openai ...]`.
// Every figure that depends on the machine's speed is a ratio of two processes measured in the same run.
// Prints a table and writes bench/results/bench-<time>.json (and latest.json). See bench/README.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, machineFacts, round } from './lib.mjs';

const ALL = [
  'overhead',
  'logvolume',
  'live',
  'latency',
  'rotation',
  'flood',
  'logwriter',
  'startup',
  'transcription',
  'livelatency',
  'partials',
  'daemon',
  'sessions',
  'bigchunks',
  'accuracy',
  'openai',
];
/**
 * Run only when named: `frozen` is livelatency's part (b) alone, for side-by-side runs against a baseline;
 * `pulse` needs a PulseAudio server of its own; `soak` takes hours (24 h of audio at full speed, 2 h at
 * live pace; BENCH_SOAK_FULL_S/BENCH_SOAK_LIVE_S shorten it).
 */
const ON_REQUEST = ['frozen', 'pulse', 'soak'];
const KNOWN = [...ALL, ...ON_REQUEST];

function parseArgs(argv) {
  const names = [];
  const options = { repeats: Number(process.env.BENCH_REPEATS ?? 3) };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--repeats') options.repeats = Number(argv[++i]);
    else if (arg === '--help' || arg === '-h') {
      console.log(
        `usage: node bench/run.mjs [--repeats N] [${KNOWN.join('|')} ...]   (default: all but ${ON_REQUEST.join(', ')}; BENCH_KEEP=1 keeps the temp folders)`,
      );
      process.exit(0);
    } else if (KNOWN.includes(arg)) names.push(arg);
    else {
      console.error(`unknown benchmark ${JSON.stringify(arg)}; choose from ${KNOWN.join(', ')}`);
      process.exit(2);
    }
  }
  if (!(options.repeats >= 1)) options.repeats = 1;
  return { names: names.length ? KNOWN.filter((n) => names.includes(n)) : ALL, options };
}

function versionOf(command, args) {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0].trim();
  } catch (error) {
    return `unavailable (${error.code ?? error.message})`;
  }
}

function fmt(value, unit = '') {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  return `${typeof value === 'number' ? round(value, 3) : value}${unit}`;
}

function verdict(met) {
  if (met === undefined) return 'n/a';
  return met ? 'yes' : 'NO';
}

function tableRows(results) {
  const rows = [];
  for (const [part, soak] of Object.entries(results.soak ?? {})) {
    const r = soak.last_vs_second;
    const period = soak.period_s >= 3600 ? 'hour' : `${round(soak.period_s / 60, 1)} min`;
    rows.push([
      'soak',
      `${part}: ${round(soak.audio_s / 3600, 2)} h of audio in ${soak.wall_s} s; last ${period} / second: rss, fds, threads, log bytes`,
      `${fmt(r.rss)}, ${fmt(r.fds)}, ${fmt(r.threads)}, ${fmt(r.log_bytes_in_period)}`,
      `≤ ${soak.target}`,
      verdict(soak.met),
    ]);
  }
  const o = results.overhead;
  if (o) {
    const m = o.median;
    rows.push([
      'overhead',
      `echolog own CPU per audio hour (median of ${o.repeats}, ${o.audio_hours} h)`,
      fmt(m.echolog_own_cpu_s_per_audio_hour, ' s/h'),
      `≤ ${o.target_own_cpu_s_per_audio_hour} s/h`,
      verdict(o.met),
    ]);
    if (o.baseline)
      rows.push(['overhead', `  baseline (${o.baseline.bin}), same repeats`, fmt(o.baseline.own_cpu_s_per_audio_hour, ' s/h'), '', '']);
    rows.push(['overhead', '  of which start-up (record --dry-run CPU, once)', fmt(o.startup_cpu_s, ' s'), '', '']);
    rows.push(['overhead', '  without start-up', fmt(m.echolog_own_minus_startup_cpu_s_per_audio_hour, ' s/h'), '', '']);
    rows.push([
      'overhead',
      '  self-reported in session_stop (process.cpuUsage)',
      fmt(m.echolog_self_reported_cpu_s_per_audio_hour, ' s/h'),
      '',
      '',
    ]);
    rows.push(['overhead', 'echolog own CPU (tree − ffmpeg)', fmt(m.echolog_own_cpu_s, ' s'), '', '']);
    rows.push(['overhead', 'ffmpeg under echolog CPU', fmt(m.echolog_ffmpeg_cpu_s, ' s'), '', '']);
    rows.push(['overhead', 'bare ffmpeg, identical argv, CPU', fmt(m.bare_ffmpeg_cpu_s, ' s'), '', '']);
    rows.push(['overhead', '(echolog + ffmpeg) / bare ffmpeg', fmt(m.ratio_echolog_plus_ffmpeg_to_bare), 'report', '']);
  }
  const lv = results.live;
  if (lv) {
    for (const b of [lv, lv.baseline].filter(Boolean)) {
      const s = b.steady;
      const name = b === lv ? '' : ` — ${b.build}`;
      rows.push([
        'live',
        `echolog CPU per audio hour at live pace, steady (${s.window_s} s of a ${lv.seconds} s run, 10 s chunks)${name}`,
        fmt(s.cpu_s_per_audio_hour, ' s/h'),
        b === lv ? `≤ ${lv.target_own_cpu_s_per_audio_hour} s/h` : '',
        b === lv ? verdict(lv.met) : '',
      ]);
      rows.push([
        'live',
        `  per ${s.intervals} intervals: min / median / max; utime+stime (10 ms ticks); main thread alone`,
        `${fmt(s.interval_min)} / ${fmt(s.interval_median)} / ${fmt(s.interval_max)}; ${fmt(s.ticks_cpu_s_per_audio_hour)}; ${fmt(s.main_thread_cpu_s_per_audio_hour)} s/h`,
        '',
        '',
      ]);
      rows.push([
        'live',
        `  difference of runs (${b.runs.long.audio_s} s − 1 s): self-reported / own (tree − ffmpeg) / ffmpeg`,
        `${fmt(b.echolog_self_reported_cpu_s_per_audio_hour)} / ${fmt(b.echolog_own_cpu_s_per_audio_hour)} / ${fmt(b.ffmpeg_cpu_s_per_audio_hour)} s/h`,
        '',
        '',
      ]);
    }
  }
  const v = results.logvolume;
  if (v)
    rows.push([
      'logvolume',
      `session.log at info, 10 s chunks (${v.log_lines} lines, ${v.bytes_per_line} B/line)`,
      fmt(round(v.bytes_per_audio_hour / 1024, 1), ' KB/h'),
      '< 100 KB/h',
      verdict(v.met),
    ]);
  const l = results.latency;
  if (l) {
    for (const r of [l.realtime, l.no_realtime]) {
      rows.push([
        'latency',
        `row → chunk_created, ${r.mode}, ${r.segment_time_s} s chunks, n=${r.measured}`,
        `p50 ${fmt(r.p50_ms)} / p99 ${fmt(r.p99_ms)} ms`,
        'p99 ≤ 50 ms',
        verdict(r.met),
      ]);
      if (r.reference)
        rows.push([
          'latency',
          `  control: minimal Node watcher, same run, n=${r.reference.measured}`,
          `p50 ${fmt(r.reference.p50_ms)} / p99 ${fmt(r.reference.p99_ms)} ms`,
          '',
          '',
        ]);
    }
  }
  const rot = results.rotation;
  if (rot) {
    for (const r of [rot.one_megabyte, ...rot.small_max_bytes]) {
      const c = r.checks;
      const rotations = r.rotations_estimated !== undefined ? `~${r.rotations_estimated} rotations, ` : `${r.bytes_kept} B written, `;
      rows.push([
        'rotation',
        `debug, 2 h, max_bytes ${r.max_bytes}: ${rotations}${c.backups_found} backups, seq ${c.chunk_created_first_kept}…${c.chunk_created_last}, gaps ${c.chunk_created_gaps}, broken ${c.broken_lines}`,
        r.ok ? 'ok' : 'FAILED',
        `${r.backup_count} backups, whole, contiguous`,
        verdict(r.ok),
      ]);
    }
  }
  const f = results.flood;
  if (f) {
    rows.push([
      'flood',
      `identical lines (${f.same.ffmpeg_stderr_lines_about} in ${f.same.audio_s} s of audio): node peak RSS / log bytes`,
      `${fmt(f.same.node_peak_rss_mb)} MB / ${f.same.log_bytes} B`,
      `≤ ${f.rss_limit_mb} MB`,
      verdict(f.same.node_peak_rss_mb <= f.rss_limit_mb),
    ]);
    rows.push([
      'flood',
      '  wall: echolog / bare ffmpeg (stderr a drained pipe), same argv',
      `${fmt(f.same.echolog_wall_s)} / ${fmt(f.same.bare_ffmpeg_wall_s)} s = ${fmt(f.same.wall_ratio_echolog_to_bare)}`,
      'report',
      '',
    ]);
    rows.push([
      'flood',
      `Non-monotonous DTS (${f.dts.lines_per_s} lines/s for ${f.dts.flood_s} s): node peak RSS / log bytes`,
      `${fmt(f.dts.node_peak_rss_mb)} MB / ${f.dts.log_bytes} B`,
      `≤ ${f.rss_limit_mb} MB`,
      verdict(f.dts.node_peak_rss_mb <= f.rss_limit_mb),
    ]);
    rows.push([
      'flood',
      `  written ${f.dts.ffmpeg_lines_written}, dropped (counted) ${f.dts.dropped_counted}; SIGINT → exit`,
      `${fmt(f.dts.stop_s)} s`,
      'report',
      '',
    ]);
  }
  const lw = results.logwriter;
  if (lw) {
    for (const m of lw.modules)
      rows.push(['logwriter', `import ${m.label} (median of ${lw.repeats} fresh node processes)`, fmt(m.median_ms, ' ms'), 'report', '']);
    if (lw.ratio !== undefined) rows.push(['logwriter', '  log writer import: baseline / this build', fmt(lw.ratio), 'report', '']);
  }
  const t = results.transcription;
  if (t) {
    if (t.skipped) rows.push(['transcription', `not run: ${t.reason}`, '—', '', 'n/a']);
    else {
      const tp = t.throughput;
      rows.push([
        'transcription',
        `throughput: direct ${tp.median_direct_wall_s} s / echolog ${tp.median_echolog_wall_s} s (${tp.audio_seconds} s speech)`,
        fmt(tp.median_ratio_direct_to_echolog),
        '≥ 0.95',
        verdict(tp.met),
      ]);
      rows.push([
        'transcription',
        `  CPU: direct / echolog tree (echolog + ffmpeg + its pocketsphinx); words ${tp.runs[0].echolog_words}/${tp.runs[0].direct_words}`,
        fmt(tp.median_cpu_ratio_direct_to_echolog),
        '',
        '',
      ]);
      if (!tp.valid) rows.push(['transcription', `  INVALID: ${tp.invalid_because}`, '', '', '']);
      const lg = t.lag.to_transcript_line;
      rows.push([
        'transcription',
        `lag chunk close → its transcript line (text), real time, 10 s chunks, n=${lg.n} lines`,
        `p50 ${fmt(lg.p50_ms)} / p95 ${fmt(lg.p95_ms)} ms`,
        'report',
        '',
      ]);
      const ct = t.lag.to_chunk_transcribed;
      rows.push([
        'transcription',
        `lag chunk close → chunk_transcribed in session.log, n=${ct.n}`,
        `p50 ${fmt(ct.p50_ms)} / p95 ${fmt(ct.p95_ms)} ms`,
        'report',
        '',
      ]);
    }
  }
  const ll = results.livelatency;
  if (ll) {
    const t = ll.text;
    rows.push([
      'livelatency',
      `sentence end → its words in transcript.jsonl, 10 s chunks, real time, n=${t.to_jsonl.n} (${t.missing} missing)`,
      `p50 ${fmt(t.to_jsonl.p50_ms)} / p95 ${fmt(t.to_jsonl.p95_ms)} / max ${fmt(t.to_jsonl.max_ms)} ms`,
      '≤ 2500 ms',
      verdict(t.met),
    ]);
    rows.push([
      'livelatency',
      '  → on screen',
      `p50 ${fmt(t.to_screen.p50_ms)} / p95 ${fmt(t.to_screen.p95_ms)} / max ${fmt(t.to_screen.max_ms)} ms`,
      '≤ 2500 ms',
      '',
    ]);
    rows.push([
      'livelatency',
      `  final transcript = per-chunk echolog transcribe of the same session (${t.per_chunk_transcribe.live_words} words)`,
      t.per_chunk_transcribe.equal ? 'equal' : `${t.per_chunk_transcribe.differing_positions} differ`,
      'equal',
      verdict(t.per_chunk_transcribe.equal),
    ]);
    for (const [place, s] of Object.entries(t.by_place))
      rows.push(['livelatency', `  ${place}, n=${s.n}`, `p50 ${fmt(s.p50_ms)} / max ${fmt(s.max_ms)} ms`, '', '']);
    const c = ll.chunk_latency_decoder_stopped;
    rows.push([
      'livelatency',
      `row → chunk_created with every decoder SIGSTOPped (${c.decoders_frozen}), 1 s chunks, n=${c.measured}`,
      `p50 ${fmt(c.p50_ms)} / p99 ${fmt(c.p99_ms)} ms`,
      'p99 ≤ 50 ms',
      verdict(c.met && c.decoders_frozen > 0),
    ]);
    rows.push([
      'livelatency',
      `  control: minimal Node watcher, same run, n=${c.reference.measured}`,
      `p50 ${fmt(c.reference.p50_ms)} / p99 ${fmt(c.reference.p99_ms)} ms`,
      '',
      '',
    ]);
  }
  const pt = results.partials;
  if (pt) {
    const sc = pt.screen;
    rows.push([
      'partials',
      `sentence start → first partial on a terminal (pty), n=${sc.first_partial_after_start.n} of ${sc.sentences}`,
      `p50 ${fmt(sc.first_partial_after_start.p50_ms)} / p95 ${fmt(sc.first_partial_after_start.p95_ms)} / max ${fmt(sc.first_partial_after_start.max_ms)} ms`,
      'report',
      '',
    ]);
    rows.push([
      'partials',
      `  interval between partials while speaking, n=${sc.partial_refresh.n}`,
      `p50 ${fmt(sc.partial_refresh.p50_ms)} / p95 ${fmt(sc.partial_refresh.p95_ms)} ms`,
      'report',
      '',
    ]);
    rows.push([
      'partials',
      '  sentence end → final line on the terminal',
      `p50 ${fmt(sc.final_after_end.p50_ms)} / p95 ${fmt(sc.final_after_end.p95_ms)} / max ${fmt(sc.final_after_end.max_ms)} ms`,
      '≤ 2500 ms',
      verdict(sc.final_after_end.n === sc.sentences && sc.final_after_end.max_ms <= 2500),
    ]);
    const c = pt.cost;
    rows.push([
      'partials',
      `stream decoder / pocketsphinx_continuous, CPU decoding ${c.audio_s} s (median of ${c.repeats})`,
      `${fmt(c.cpu_ratio)}× (${c.stream.cpu_s} / ${c.cli.cpu_s} s)`,
      'report',
      '',
    ]);
    rows.push(['partials', '  peak RSS', `${fmt(c.rss_ratio)}× (${c.stream.max_rss_mb} / ${c.cli.max_rss_mb} MB)`, 'report', '']);
  }
  const pa = results.pulse;
  if (pa) {
    rows.push([
      'pulse',
      `record --duration ${pa.duration_s} from PulseAudio: audio / wall (median of ${pa.echolog.length}; restarts ${pa.echolog.map((r) => r.restarts).join(',')})`,
      `${fmt(pa.median.echolog_audio_s)} / ${fmt(pa.median.echolog_wall_s)} s`,
      `audio ≥ bare, wall ≤ ${pa.duration_s + 3} s`,
      verdict(pa.met),
    ]);
    rows.push([
      'pulse',
      `  bare ffmpeg -f pulse -t ${pa.duration_s}, same server, alternating`,
      `${fmt(pa.median.bare_audio_s)} / ${fmt(pa.median.bare_wall_s)} s`,
      '',
      '',
    ]);
  }
  for (const r of results.frozen?.runs ?? []) {
    rows.push([
      'frozen',
      `${r.build} build, load ${r.load_avg_1m}: row → chunk_created, every decoder SIGSTOPped (${r.decoders_frozen}), n=${r.measured}`,
      `p50 ${fmt(r.p50_ms)} / p99 ${fmt(r.p99_ms)} ms (control p99 ${fmt(r.reference.p99_ms)})`,
      'p99 ≤ 50 ms',
      r.build === 'this' ? verdict(r.met) : '',
    ]);
  }
  const s = results.startup;
  if (s) {
    rows.push([
      'startup',
      `node -e 0, median of ${s.rounds} alternated runs${s.kept_env.length ? ` (with ${s.kept_env.join(', ')})` : ''}`,
      fmt(s.median_ms.node, ' ms'),
      '',
      '',
    ]);
    rows.push([
      'startup',
      `echolog --version (${s.median_ms.version} ms) / node -e 0`,
      fmt(s.ratio_to_node.version),
      `≤ ${s.targets.version}`,
      verdict(s.ratio_to_node.version <= s.targets.version),
    ]);
    rows.push([
      'startup',
      `echolog status, 3 sessions (${s.median_ms.status} ms) / node -e 0`,
      fmt(s.ratio_to_node.status),
      `≤ ${s.targets.status}`,
      verdict(s.ratio_to_node.status <= s.targets.status),
    ]);
    if (s.baseline) {
      rows.push(['startup', `  baseline ${s.baseline}: --version / node`, fmt(s.ratio_to_node.baseline_version), '', '']);
      rows.push(['startup', '  baseline: status / node', fmt(s.ratio_to_node.baseline_status), '', '']);
    }
  }
  const d = results.daemon;
  if (d) {
    const e = d.empty_request;
    rows.push([
      'daemon',
      `empty request (< 150 ms audio) written → response seen, n=${e.n}`,
      `p50 ${fmt(e.p50_ms)} / p95 ${fmt(e.p95_ms)} ms`,
      `≤ ${e.target_ms} ms`,
      verdict(e.met),
    ]);
    rows.push([
      'daemon',
      '  control: minimal Node responder, same run',
      `p50 ${fmt(e.control.p50_ms)} / p95 ${fmt(e.control.p95_ms)} ms (ratio p50 ${fmt(e.ratio_p50_to_control)})`,
      '',
      '',
    ]);
    const o = d.ipc_overhead;
    rows.push([
      'daemon',
      `IPC overhead: round trip − engine_ms, speech, n=${o.n} (engine p50 ${o.engine_p50_ms} ms)`,
      `p50 ${fmt(o.p50_ms)} / p95 ${fmt(o.p95_ms)} ms`,
      `p95 ≤ ${o.target_p95_ms} ms`,
      verdict(o.met),
    ]);
    rows.push(['daemon', `idle daemon CPU over ${d.idle_cpu.seconds} s`, fmt(d.idle_cpu.cpu_ms_per_minute, ' ms/min'), '≈ 0', '']);
  }
  const bc = results.bigchunks;
  if (bc) {
    for (const r of [bc.big, bc.small, bc.mono]) {
      const bounded = r.segment_time_s > 10;
      const target = bounded ? `≤ ${bc.rss_limit_mb} MB` : 'side by side';
      rows.push([
        'bigchunks',
        `record, ${bc.audio_s} s of ${r.format} in ${r.segment_time_s} s chunks (largest ${r.largest_chunk_mb} MB): node peak RSS`,
        fmt(r.record_peak_rss_mb, ' MB'),
        target,
        bounded ? verdict(r.record_peak_rss_mb <= bc.rss_limit_mb) : '',
      ]);
      rows.push([
        'bigchunks',
        `  transcribe --engine pocketsphinx on it: node peak RSS`,
        fmt(r.transcribe_peak_rss_mb, ' MB'),
        target,
        bounded ? verdict(r.transcribe_peak_rss_mb <= bc.rss_limit_mb) : '',
      ]);
    }
  }
  const sl = results.sessions;
  if (sl) {
    rows.push([
      'sessions',
      `sessions list --limit 50 over ${sl.sessions} sessions / node -e 0, median of ${sl.runs} alternated (${sl.median_list_warm_ms} / ${sl.median_node_ms} ms)`,
      fmt(sl.ratio_warm, '×'),
      '≤ 6×',
      verdict(sl.met),
    ]);
    rows.push([
      'sessions',
      `  floor: echolog --version / node -e 0, same runs (${sl.median_version_ms} ms)`,
      fmt(sl.ratio_version, '×'),
      '',
      '',
    ]);
    rows.push(['sessions', `  cold: no index yet (${sl.median_list_cold_ms} ms, builds it)`, fmt(sl.ratio_cold, '×'), '', '']);
    rows.push([
      'sessions',
      `  first listing after a new session (${sl.median_list_after_new_session_ms} ms, checks every folder)`,
      fmt(sl.ratio_after_new_session, '×'),
      '',
      '',
    ]);
  }
  const ac = results.accuracy;
  if (ac) {
    if (ac.skipped) rows.push(['accuracy', `not run: ${ac.reason}`, '—', '', 'n/a']);
    else {
      const wer = (r) => `${fmt(r.wer_percent, ' %')} (${r.errors}/${r.words})`;
      rows.push(['accuracy', `WER, ${ac.set}, ${ac.audio_s} s: whole file (pocketsphinx_continuous)`, wer(ac.whole_file), '', '']);
      rows.push(['accuracy', '  per chunk (record --engine none, 10 s chunks, then echolog transcribe)', wer(ac.per_chunk), '', '']);
      const path = `${ac.live_path.stream_decoder ? 'stream decoder' : 'CLI'}, cuts ${ac.live_path.cuts}${ac.live_path.fell_back ? ', FELL BACK to per chunk' : ''}`;
      rows.push(['accuracy', `  live (real time, 10 s chunks; ${path})`, wer(ac.live), '', '']);
      rows.push(['accuracy', '  live − whole file', fmt(ac.live_minus_whole_points, ' points'), '≤ 1 point', verdict(ac.met)]);
    }
  }
  const oa = results.openai;
  if (oa) {
    const l = oa.lag;
    rows.push([
      'openai',
      `echolog's own part (chunk close → request, answer → transcript line), server ${oa.answer_ms} ms, 10 s chunks, real time, n=${l.own_part.n}`,
      `p50 ${fmt(l.own_part.p50_ms)} / p95 ${fmt(l.own_part.p95_ms)} ms`,
      `p95 ≤ ${oa.targets.own_p95_ms} ms`,
      verdict(l.own_part.p95_ms <= oa.targets.own_p95_ms),
    ]);
    rows.push([
      'openai',
      '  chunk close → transcript line',
      `p50 ${fmt(l.close_to_line.p50_ms)} / p95 ${fmt(l.close_to_line.p95_ms)} ms`,
      `p95 ≤ ${oa.targets.close_to_line_p95_ms} ms`,
      verdict(l.close_to_line.p95_ms <= oa.targets.close_to_line_p95_ms),
    ]);
    if (!oa.throughput) return rows;
    rows.push([
      'openai',
      '  side by side: local pocketsphinx per chunk, same audio',
      `p50 ${fmt(oa.pocketsphinx_lag.close_to_line.p50_ms)} / p95 ${fmt(oa.pocketsphinx_lag.close_to_line.p95_ms)} ms`,
      '',
      '',
    ]);
    const t = oa.throughput;
    rows.push([
      'openai',
      `--no-realtime ${t.audio_seconds} s: concurrency 2 / 1 (${t.runs.openai_c2.wall_s} / ${t.runs.openai_c1.wall_s} s wall), in chunk order ${t.runs.openai_c1.in_chunk_order && t.runs.openai_c2.in_chunk_order}`,
      fmt(t.ratio_c2_to_c1, '×'),
      `≥ ${oa.targets.concurrency_ratio}×`,
      verdict(t.ratio_c2_to_c1 >= oa.targets.concurrency_ratio && t.runs.openai_c1.in_chunk_order && t.runs.openai_c2.in_chunk_order),
    ]);
    rows.push([
      'openai',
      `  side by side: transcribed audio s per wall s, pocketsphinx (${t.runs.pocketsphinx.chunks_transcribed} chunks) / openai c1 / c2`,
      `${fmt(t.runs.pocketsphinx.transcribed_audio_per_wall)} / ${fmt(t.runs.openai_c1.transcribed_audio_per_wall)} / ${fmt(t.runs.openai_c2.transcribed_audio_per_wall)}`,
      '',
      '',
    ]);
    const r = oa.outage_rss;
    rows.push([
      'openai',
      `peak RSS, ${r.chunks} chunks queued, server never answering (pending at stop ${r.openai.pending_at_stop})`,
      fmt(r.openai.peak_rss_mb, ' MB'),
      `≤ ${oa.targets.rss_mb} MB`,
      verdict(r.openai.peak_rss_mb <= oa.targets.rss_mb),
    ]);
    rows.push(['openai', '  same input, --engine none', fmt(r.none.peak_rss_mb, ' MB'), '', '']);
  }
  return rows;
}

function printTable(rows) {
  const header = ['benchmark', 'figure', 'value', 'target', 'met'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) =>
    r
      .map((cell, i) => String(cell).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function main() {
  const { names, options } = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(REPO, 'dist', 'index.js'))) {
    console.error('dist/ is missing: run `npm run bench` (it builds first) or `npm run build`.');
    process.exit(2);
  }
  const started = new Date();
  const facts = {
    date: started.toISOString(),
    machine: machineFacts(),
    ffmpeg: versionOf('ffmpeg', ['-version']),
    pocketsphinx: versionOf('dpkg-query', ['-W', '-f=${Package} ${Version}', 'pocketsphinx']),
    echolog_commit: versionOf('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    benchmarks: names,
    repeats: options.repeats,
  };
  console.log(`echolog bench — ${facts.date}, ${facts.machine.cpus} × ${facts.machine.cpu_model}, ${facts.machine.node}, ${facts.ffmpeg}`);
  const results = {};
  const failures = {};
  // The 1-minute load average as each benchmark starts: how noisy the machine was.
  const loadavg = {};
  const runOne = async (name, fn) => {
    const t0 = Date.now();
    console.log(
      `\n[${name}] load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    loadavg[name] = round(os.loadavg()[0], 2);
    try {
      results[name] = await fn();
    } catch (error) {
      failures[name] = error.stack ?? String(error);
      console.error(`  ${name} FAILED: ${error.message}`);
    }
    console.log(`  (${round((Date.now() - t0) / 1000, 1)} s)`);
  };
  for (const name of names) {
    if (name === 'overhead') await runOne(name, async () => (await import('./overhead.mjs')).benchOverhead({ repeats: options.repeats }));
    if (name === 'logvolume')
      await runOne(name, async () => (await import('./overhead.mjs')).benchLogVolume({ overhead: results.overhead }));
    if (name === 'live') await runOne(name, async () => (await import('./overhead.mjs')).benchLive());
    if (name === 'latency') await runOne(name, async () => (await import('./latency.mjs')).benchLatency());
    if (name === 'rotation') await runOne(name, async () => (await import('./rotation.mjs')).benchRotation());
    if (name === 'flood') await runOne(name, async () => (await import('./flood.mjs')).benchFlood());
    if (name === 'logwriter')
      await runOne(name, async () => (await import('./logwriter.mjs')).benchLogWriter({ repeats: Math.max(options.repeats, 15) }));
    if (name === 'transcription')
      await runOne(name, async () => (await import('./transcription.mjs')).benchTranscription({ repeats: options.repeats }));
    if (name === 'livelatency') await runOne(name, async () => (await import('./live-latency.mjs')).benchLiveLatency());
    if (name === 'partials')
      await runOne(name, async () => (await import('./partial-text.mjs')).benchPartialText({ repeats: options.repeats }));
    if (name === 'pulse') await runOne(name, async () => (await import('./pulse.mjs')).benchPulse({ repeats: options.repeats }));
    if (name === 'frozen') await runOne(name, async () => (await import('./live-latency.mjs')).benchFrozen());
    if (name === 'startup')
      await runOne(name, async () => (await import('./startup.mjs')).benchStartup({ rounds: Math.max(11, options.repeats) }));
    if (name === 'daemon') await runOne(name, async () => (await import('./daemon.mjs')).benchDaemon());
    if (name === 'bigchunks') await runOne(name, async () => (await import('./bigchunks.mjs')).benchBigChunks());
    if (name === 'accuracy') await runOne(name, async () => (await import('./accuracy.mjs')).benchAccuracy());
    if (name === 'soak') await runOne(name, async () => (await import('./soak.mjs')).benchSoak());
    if (name === 'openai') await runOne(name, async () => (await import('./openai.mjs')).benchOpenAi());
    if (name === 'sessions')
      await runOne(name, async () => (await import('./sessions-list.mjs')).benchSessionsList({ repeats: options.repeats }));
  }
  facts.duration_s = round((Date.now() - started.getTime()) / 1000, 1);
  console.log('');
  printTable(tableRows(results));
  for (const [name, stack] of Object.entries(failures)) console.log(`\n${name} failed:\n${stack}`);

  const dir = path.join(REPO, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const report = { ...facts, load_average_at_start: loadavg, results, failures };
  const file = path.join(dir, `bench-${facts.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)} (${facts.duration_s} s in all)`);
  // A missed target is a finding, reported in the table; only a benchmark that could not run fails.
  process.exitCode = Object.keys(failures).length ? 1 : 0;
}

await main();

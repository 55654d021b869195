// Memory independent of chunk size (issue 19 §1): node's peak RSS (VmHWM of the echolog process
// itself, polled from /proc while it runs) for `record` and for `transcribe`, with 1800 s chunks
// (48 kHz stereo: 345 MB each) side by side with 10 s chunks of the same audio, in one run.
//   record:     --no-realtime, a lavfi sine at 48 kHz stereo, --engine none (the chunk monitor
//               still measures every chunk's level).
//   transcribe: `echolog transcribe <id> --engine pocketsphinx` on that session: every chunk is
//               decoded by ffmpeg to 16 kHz mono and streamed to the decoder.
// BENCH_BIGCHUNKS_SECONDS sets the audio length (default 1800: one whole big chunk).
import fs from 'node:fs';
import path from 'node:path';
import { makeSandbox, requireTool, round, runCliPeakRss } from './lib.mjs';

const AUDIO_SECONDS = Number(process.env.BENCH_BIGCHUNKS_SECONDS ?? 1800);
const RSS_LIMIT_MB = 150;

async function oneSize(sandbox, segmentTime, { rate = 48000, channels = 2 } = {}) {
  const id = `chunks-${segmentTime}-${rate}-${channels}`;
  const record = await runCliPeakRss(
    [
      'record',
      '-q',
      '--session-id',
      id,
      '--input-format',
      'lavfi',
      '--input',
      `sine=frequency=440:sample_rate=${rate}`,
      '--sample-rate',
      String(rate),
      '--channels',
      String(channels),
      '--no-realtime',
      '--segment-time',
      String(segmentTime),
      '--duration',
      String(AUDIO_SECONDS),
      '--engine',
      'none',
    ],
    sandbox,
  );
  if (record.code !== 0) throw new Error(`record (${segmentTime} s chunks) exited ${record.code}: ${record.stderr}`);
  const dir = path.join(sandbox.recordings, id);
  const chunks = fs.readdirSync(dir).filter((f) => /^chunk_\d+\.wav$/.test(f));
  const largest = Math.max(...chunks.map((f) => fs.statSync(path.join(dir, f)).size));
  const transcribe = await runCliPeakRss(['transcribe', id, '--engine', 'pocketsphinx'], sandbox);
  if (transcribe.code !== 0) throw new Error(`transcribe (${segmentTime} s chunks) exited ${transcribe.code}: ${transcribe.stderr}`);
  return {
    format: `${rate / 1000} kHz ${channels === 1 ? 'mono' : 'stereo'}`,
    segment_time_s: segmentTime,
    chunks: chunks.length,
    largest_chunk_mb: round(largest / 1024 / 1024, 1),
    record_peak_rss_mb: round(record.peakKb / 1024, 1),
    record_wall_s: round(record.wallMs / 1000, 1),
    transcribe_peak_rss_mb: round(transcribe.peakKb / 1024, 1),
    transcribe_wall_s: round(transcribe.wallMs / 1000, 1),
  };
}

export async function benchBigChunks() {
  requireTool('pocketsphinx_continuous', 'apt-get install pocketsphinx pocketsphinx-en-us');
  const sandbox = makeSandbox('bigchunks');
  try {
    const big = await oneSize(sandbox, 1800);
    const small = await oneSize(sandbox, 10);
    // The engine's own format: chunks read as they are, no ffmpeg.
    const mono = await oneSize(sandbox, 1800, { rate: 16000, channels: 1 });
    const result = { audio_s: AUDIO_SECONDS, rss_limit_mb: RSS_LIMIT_MB, big, small, mono };
    result.met =
      Math.max(big.record_peak_rss_mb, big.transcribe_peak_rss_mb, mono.record_peak_rss_mb, mono.transcribe_peak_rss_mb) <= RSS_LIMIT_MB;
    console.log(JSON.stringify(result, null, 2));
    return result;
  } finally {
    sandbox.cleanup();
  }
}

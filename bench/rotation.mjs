// Rotation under load (issue 3): 2 h of lavfi audio at --log-level debug, --no-realtime, size rotation.
//
// Checks, over session.log.N … session.log.1, session.log (oldest first):
//   - exactly backup_count backups (when the log rotated at least that many times), nothing else
//   - every line whole: each file ends in a newline and every line parses
//   - no line lost between files: chunk_created seq and ffmpeg's "Opening 'chunk_NNNNN.wav'" lines are
//     contiguous from the first one kept to the last chunk, across file boundaries
//   - session_stop is the last line of session.log
import fs from 'node:fs';
import path from 'node:path';
import { BIN, sineRecordArgs, TWO_HOURS, logFiles, makeSandbox, readLogFile, removeChunks, round, run } from './lib.mjs';

const BACKUP_COUNT = 3;

async function rotationRun({ label, maxBytes, audioSeconds, log }) {
  const sandbox = makeSandbox(`rotation-${label}`);
  const sessionId = `rotation-${label}`;
  try {
    const args = sineRecordArgs({ sessionId, audioSeconds, logLevel: 'debug', extra: ['--log-max-bytes', String(maxBytes)] });
    const result = await run(BIN, args, { cwd: sandbox.root, env: sandbox.env });
    if (result.code !== 0) throw new Error(`echolog record exited ${result.code}: ${result.stderr}`);
    const sessionDir = path.join(sandbox.recordings, sessionId);
    removeChunks(sessionDir);
    const { ordered, backups, others } = logFiles(sessionDir);
    const files = ordered.map((file) => ({ name: path.basename(file), ...readLogFile(file) }));
    const lines = files.flatMap((f) => f.lines);
    const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
    const chunks = Number(lines.at(-1)?.fields.chunks);

    const createdSeqs = lines.filter((l) => l.message === 'chunk_created').map((l) => Number(l.fields.seq));
    const openedSeqs = lines
      .filter((l) => l.message === 'ffmpeg_stderr')
      .map((l) => /Opening '.*chunk_(\d+)\.wav' for writing/.exec(l.fields.line ?? ''))
      .filter(Boolean)
      .map((m) => Number(m[1]));
    const gaps = (seqs) => seqs.slice(1).filter((seq, i) => seq !== seqs[i] + 1).length;

    // The sequences are only complete from the start when nothing was dropped, i.e. no backup was deleted.
    const firstKept = createdSeqs[0];
    const rotatedAway = firstKept !== 1;
    const checks = {
      backups_expected: rotatedAway ? BACKUP_COUNT : `≤ ${BACKUP_COUNT}`,
      backups_found: backups.length,
      backups_ok: rotatedAway ? backups.length === BACKUP_COUNT : backups.length <= BACKUP_COUNT,
      stray_files: others,
      every_file_ends_whole: files.every((f) => f.endsWhole),
      broken_lines: files.reduce((sum, f) => sum + f.broken.length, 0),
      chunk_created_first_kept: firstKept,
      chunk_created_last: createdSeqs.at(-1),
      chunk_created_count: createdSeqs.length,
      chunk_created_gaps: gaps(createdSeqs),
      chunk_created_reaches_end: createdSeqs.at(-1) === chunks,
      ffmpeg_opening_gaps: gaps(openedSeqs),
      session_stop_last: lines.at(-1)?.message === 'session_stop' && files.at(-1).name === 'session.log',
      session_start_kept: lines[0]?.message === 'session_start',
    };
    const ok =
      checks.backups_ok &&
      others.length === 0 &&
      checks.every_file_ends_whole &&
      checks.broken_lines === 0 &&
      checks.chunk_created_gaps === 0 &&
      checks.chunk_created_reaches_end &&
      checks.ffmpeg_opening_gaps === 0 &&
      checks.session_stop_last &&
      (rotatedAway || checks.session_start_kept);
    const res = {
      label,
      audio_seconds: audioSeconds,
      max_bytes: maxBytes,
      backup_count: BACKUP_COUNT,
      chunks,
      bytes_kept: totalBytes,
      rotated: backups.length > 0,
      dropped_oldest: rotatedAway,
      files: files.map((f) => ({ name: f.name, bytes: f.bytes, lines: f.lines.length })),
      largest_file_bytes: Math.max(...files.map((f) => f.bytes)),
      checks,
      ok,
      wall_s: round(result.wallMs / 1000, 2),
    };
    log(
      `  rotation ${label}: max_bytes ${maxBytes}, ${backups.length} backups, kept ${totalBytes} bytes, chunk seq ${firstKept}…${createdSeqs.at(-1)} gaps ${checks.chunk_created_gaps}, ok=${ok}`,
    );
    return res;
  } finally {
    sandbox.cleanup();
  }
}

export async function benchRotation({ audioSeconds = TWO_HOURS, smallMaxBytes = [4096], log = console.log } = {}) {
  // The case: 1 MB. At debug with -nostats a 2 h session writes about 280 KB, so it does not rotate.
  const oneMegabyte = await rotationRun({ label: '1MB', maxBytes: 1048576, audioSeconds, log });
  // The same load with max_bytes that make it rotate many times, dropping old backups.
  const small = [];
  for (const maxBytes of smallMaxBytes) {
    const res = await rotationRun({ label: `${maxBytes}B`, maxBytes, audioSeconds, log });
    // The 1 MB run kept everything, so its size is what each run wrote in all.
    res.rotations_estimated = Math.floor(oneMegabyte.bytes_kept / maxBytes);
    small.push(res);
  }
  return { one_megabyte: oneMegabyte, small_max_bytes: small, met: oneMegabyte.ok && small.every((r) => r.ok) };
}

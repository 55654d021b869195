import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { ParsedLogLine } from '../../src/logging/line-format.js';
import { parseWavHeader, wavDurationSeconds } from '../../src/recorder/wav-header.js';

/** The chunk files of a session folder (or any folder ffmpeg wrote into), sorted. */
export function chunkFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^chunk_\d+\.wav$/.test(f))
    .sort();
}

/**
 * Asserts a WAV file is final: ffmpeg rewrote its header on close, so the RIFF size + 8 and
 * the data size agree with the bytes on disk. An unfinished chunk has zero or stale sizes.
 */
export function expectFinalWav(file: string, expected: { sampleRate?: number; channels?: number } = {}): number {
  const buffer = fs.readFileSync(file);
  const info = parseWavHeader(buffer);
  expect(info.riffFileBytes, `${path.basename(file)}: RIFF size + 8`).toBe(buffer.length);
  expect(info.dataOffset + info.dataBytes, `${path.basename(file)}: data size`).toBe(buffer.length);
  expect(info.bitsPerSample).toBe(16);
  if (expected.sampleRate !== undefined) expect(info.sampleRate).toBe(expected.sampleRate);
  if (expected.channels !== undefined) expect(info.channels).toBe(expected.channels);
  return wavDurationSeconds(info);
}

/**
 * Every chunk on disk is final and logged exactly once, in order, with its real size.
 * Returns the chunk_created lines.
 */
export function expectChunksFinalAndLogged(dir: string, log: ParsedLogLine[]): ParsedLogLine[] {
  const files = chunkFiles(dir);
  const created = log.filter((l) => l.message === 'chunk_created');
  expect(files.length).toBeGreaterThan(0);
  expect(created.map((c) => c.fields.file)).toEqual(files);
  created.forEach((line, i) => {
    const file = path.join(dir, line.fields.file!);
    expect(Number(line.fields.seq)).toBe(i + 1);
    expect(Number(line.fields.size_bytes)).toBe(fs.statSync(file).size);
    const seconds = expectFinalWav(file);
    expect(Number(line.fields.duration_s)).toBeCloseTo(seconds, 2);
    expect(Date.parse(line.fields.end!)).toBeGreaterThanOrEqual(Date.parse(line.fields.start!));
  });
  return created;
}

/** `session_stop` is the last line, exactly once, with this reason. */
export function expectStopLast(log: ParsedLogLine[], reason: string): ParsedLogLine {
  const last = log.at(-1)!;
  expect(last.message).toBe('session_stop');
  expect(last.fields.reason).toBe(reason);
  expect(log.filter((l) => l.message === 'session_stop')).toHaveLength(1);
  return last;
}

/** Rows of the segment list so far (0 before ffmpeg wrote the first). */
export function segmentRows(dir: string): number {
  try {
    return fs.readFileSync(path.join(dir, 'segments.csv'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

export function readManifestSync(dir: string):
  | {
      status: string;
      pid: number;
      ffmpeg_pid: number | null;
      stats: { chunks: number };
      log_path: string;
      stop_reason: string | null;
      capture?: { stalled_since?: string | null };
    }
  | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whether a pid is a running process; a zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of running processes whose command line contains every one of `parts` (Linux /proc). */
export function processesMatching(...parts: string[]): number[] {
  return fs.readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      return parts.every((part) => argv.some((arg) => arg.includes(part))) && isAlive(Number(name)) ? [Number(name)] : [];
    } catch {
      return [];
    }
  });
}

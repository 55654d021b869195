import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { WAV_HEADER_PROBE_BYTES } from './wav-header.js';

/** The leading bytes that hold a WAV header (for parseWavHeader) and the file's size, from an open file. */
export async function readWavProbe(handle: FileHandle, size?: number): Promise<{ probe: Buffer; size: number }> {
  const bytes = size ?? (await handle.stat()).size;
  const probe = Buffer.alloc(Math.min(WAV_HEADER_PROBE_BYTES, bytes));
  await handle.read(probe, 0, probe.length, 0);
  return { probe, size: bytes };
}

/**
 * A file's leading bytes (for parseWavHeader) and its size, judged on one open descriptor. Synchronous: this
 * runs for every chunk, and four thread-pool round trips (open, fstat, read, close), each a wake-up of the
 * main thread, cost far more than reading 44 bytes the page cache already holds (issue 19). The session.log
 * writer in the same folder is synchronous too, so a stalled file system stalls echolog there already.
 */
export function readWavProbeOfFileSync(file: string): { probe: Buffer; size: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const { size } = fs.fstatSync(fd);
    const probe = Buffer.alloc(Math.min(WAV_HEADER_PROBE_BYTES, size));
    const bytesRead = fs.readSync(fd, probe, 0, probe.length, 0);
    return { probe: probe.subarray(0, bytesRead), size };
  } finally {
    fs.closeSync(fd);
  }
}

import type { FileHandle } from 'node:fs/promises';
import { WAV_HEADER_PROBE_BYTES } from './wav-header.js';

/** The leading bytes that hold a WAV header (for parseWavHeader) and the file's size, from an open file. */
export async function readWavProbe(handle: FileHandle, size?: number): Promise<{ probe: Buffer; size: number }> {
  const bytes = size ?? (await handle.stat()).size;
  const probe = Buffer.alloc(Math.min(WAV_HEADER_PROBE_BYTES, bytes));
  await handle.read(probe, 0, probe.length, 0);
  return { probe, size: bytes };
}

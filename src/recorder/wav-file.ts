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
 * A file's leading bytes (for parseWavHeader) and its size, judged on one open descriptor: open,
 * fstat, read, close with plain callbacks under one promise. This runs for every chunk, and a
 * FileHandle (an event emitter) with a promise per step cost more than the four calls themselves
 * (issue 19).
 */
export function readWavProbeOfFile(file: string): Promise<{ probe: Buffer; size: number }> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      const finish = (error: Error | null, result?: { probe: Buffer; size: number }): void =>
        fs.close(fd, (closeError) => {
          const failure = error ?? closeError;
          if (failure) reject(failure);
          else resolve(result!);
        });
      fs.fstat(fd, (statError, stat) => {
        if (statError) return finish(statError);
        const probe = Buffer.alloc(Math.min(WAV_HEADER_PROBE_BYTES, stat.size));
        fs.read(fd, probe, 0, probe.length, 0, (readError, bytesRead) =>
          finish(readError, { probe: probe.subarray(0, bytesRead), size: stat.size }),
        );
      });
    });
  });
}

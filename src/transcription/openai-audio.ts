import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { engineFormatSpan } from '../daemon/audio-input.js';
import { runCommand } from '../process/managed-process.js';
import { readWavProbe } from '../recorder/wav-file.js';
import { parseWavHeader } from '../recorder/wav-header.js';

/** A chunk's audio ready to upload: a file-backed Blob, so memory never holds the audio. */
export interface UploadAudio {
  blob: Blob;
  filename: string;
  /** Removes the temporary file, if one was made. */
  dispose(): Promise<void>;
}

const FFMPEG_TIMEOUT_MS = 60_000;

/**
 * The chunk file as 16 kHz mono WAV for the request body. A chunk already in that format (echolog's
 * default recording) is sent as it is; any other is transcoded by ffmpeg into a private temp file
 * outside the session folder (dir 0700, file 0600), removed by `dispose`. This is the one place that
 * decides what is sent: a streamed source of engine PCM can replace it without touching the client.
 */
export async function chunkUploadAudio(file: string, ffmpegPath: () => Promise<string>): Promise<UploadAudio> {
  if (await isEngineFormatWav(file)) {
    return { blob: await fs.openAsBlob(file, { type: 'audio/wav' }), filename: path.basename(file), dispose: async () => undefined };
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'echolog-openai-'));
  const dispose = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    const out = path.join(dir, 'chunk.wav');
    // Created 0600 by us first; ffmpeg truncates it and keeps the mode.
    await (await fsp.open(out, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600)).close();
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'wav', '-y', out];
    const result = await runCommand(await ffmpegPath(), args, { timeoutMs: FFMPEG_TIMEOUT_MS });
    if (result.code !== 0) {
      const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
      throw new Error(`ffmpeg could not convert ${file} to 16 kHz mono (${result.timedOut ? 'timed out' : `exit ${result.code ?? result.signal}`}${tail ? `: ${tail}` : ''})`);
    }
    return { blob: await fs.openAsBlob(out, { type: 'audio/wav' }), filename: 'chunk.wav', dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** A plain WAV of 16 kHz mono s16le whose header sizes its data (what a server reads as it is). */
async function isEngineFormatWav(file: string): Promise<boolean> {
  const handle = await fsp.open(file, 'r');
  try {
    const { probe, size } = await readWavProbe(handle);
    const info = parseWavHeader(probe);
    return engineFormatSpan(info, size) !== undefined && info.dataOffset + info.dataBytes <= size;
  } catch {
    return false; // not a WAV echolog can read: ffmpeg converts it
  } finally {
    await handle.close();
  }
}

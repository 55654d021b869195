import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PCM_WAV_HEADER_BYTES, pcmWavHeader } from '../../recorder/wav-header.js';

/** A chunk's audio ready to upload: a file-backed Blob, so memory never holds the audio. */
export interface UploadAudio {
  blob: Blob;
  filename: string;
  /** Removes the temporary file, if one was made. */
  dispose(): Promise<void>;
}

/**
 * The engine's PCM pieces (16-bit mono at `sampleRate`) as a WAV file for the request body,
 * written piece by piece into a private temp file outside the session folder (dir 0700, file
 * 0600, created by us), removed by `dispose` (and here, when writing fails or `pieces` throws:
 * the queue stopping). The sizes are known only after the last piece: the header is written
 * with none and patched then. `filename` is the name the server is told.
 */
export async function uploadAudioOf(pieces: AsyncIterable<Buffer>, sampleRate: number, filename: string): Promise<UploadAudio> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'echolog-openai-'));
  const dispose = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'chunk.wav');
    const handle = await fsp.open(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600);
    try {
      await handle.write(pcmWavHeader(sampleRate, 1, 0));
      let dataBytes = 0;
      for await (const piece of pieces) {
        await handle.write(piece);
        dataBytes += piece.length;
      }
      await handle.write(pcmWavHeader(sampleRate, 1, dataBytes), 0, PCM_WAV_HEADER_BYTES, 0);
    } finally {
      await handle.close();
    }
    return { blob: await fs.openAsBlob(file, { type: 'audio/wav' }), filename, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

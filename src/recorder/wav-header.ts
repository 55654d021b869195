/** Reads the facts echolog needs from a PCM WAV header: its format and the true length of its audio. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Size of the `data` chunk, as the header states it. */
  dataBytes: number;
  /** Where the samples start in the file. */
  dataOffset: number;
  /** RIFF size + 8: what the file size must be when ffmpeg finalized it. */
  riffFileBytes: number;
}

/** How many leading bytes to read to be sure to find `fmt ` and `data` (ffmpeg writes LIST/INFO in between). */
export const WAV_HEADER_PROBE_BYTES = 4096;

/** Bytes of the plain header `pcmWavHeader` writes: RIFF, a 16-byte `fmt `, and the `data` chunk's head. */
export const PCM_WAV_HEADER_BYTES = 44;

/** A plain 16-bit PCM WAV header for `dataBytes` of samples (the sizes a reader trusts). */
export function pcmWavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(PCM_WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(PCM_WAV_HEADER_BYTES - 8 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

export function parseWavHeader(buffer: Buffer): WavInfo {
  if (buffer.length < 12 || buffer.toString('ascii', 0, 4) !== 'RIFF' || buffer.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let fmt: Pick<WavInfo, 'sampleRate' | 'channels' | 'bitsPerSample'> | undefined;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4);
    const size = buffer.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      fmt = {
        channels: buffer.readUInt16LE(offset + 10),
        sampleRate: buffer.readUInt32LE(offset + 12),
        bitsPerSample: buffer.readUInt16LE(offset + 22),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk before fmt chunk');
      return { ...fmt, dataBytes: size, dataOffset: offset + 8, riffFileBytes: buffer.readUInt32LE(4) + 8 };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('WAV header has no data chunk in its first bytes');
}

export function wavDurationSeconds(info: WavInfo): number {
  return info.dataBytes / (info.sampleRate * info.channels * (info.bitsPerSample / 8));
}

/**
 * Why a chunk's header and size disagree, or undefined when ffmpeg finalized it: on close it
 * rewrites the RIFF and data sizes to the bytes it wrote. A write that failed (a full disk) leaves
 * the placeholder sizes (0xFFFFFFFF) or a header promising more audio than the file holds, and
 * ffmpeg still lists the segment; such a chunk is not finished.
 */
export function wavSizeMismatch(info: WavInfo, fileBytes: number): string | undefined {
  const dataEnd = info.dataOffset + info.dataBytes;
  if (dataEnd !== fileBytes && dataEnd + 1 !== fileBytes)
    return `header says ${info.dataBytes} bytes of audio, the file holds ${Math.max(0, fileBytes - info.dataOffset)}`;
  if (info.riffFileBytes !== fileBytes) return `RIFF size says ${info.riffFileBytes} bytes, the file has ${fileBytes}`;
  return undefined;
}

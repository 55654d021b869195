import fsp from 'node:fs/promises';

/**
 * A structural check of a whisper.cpp ggml model file, done in JS before whisper.cpp reads it.
 *
 * Why: whisper.cpp trusts the sizes inside the file. A damaged file makes it abort the whole
 * process (GGML_ASSERT on an unknown weight type; std::length_error from a huge vocabulary
 * entry — both seen with @napi-rs/whisper 0.0.4), and the model loads in a worker thread of
 * echolog's own process, where that would end the recording. So every size field is checked
 * against the file: header, mel filters, vocabulary, and each tensor header (data is skipped).
 *
 * Layout (whisper.cpp `whisper_model_load`): magic `lmgg`; 11 int32 hyper-parameters; mel
 * filters (n_mel, n_fft, n_mel × n_fft float32); vocabulary (count, then per word a uint32
 * length and its bytes); then tensors until EOF (n_dims, name length, type, n_dims sizes, name,
 * data). A file that ends right after the vocabulary is whisper.cpp's weightless test model.
 */
const MAGIC = Buffer.from('lmgg', 'ascii');
const HEADER_BYTES = 4 + 11 * 4;
/** The header, mel filters and vocabulary of every whisper model fit in this; one read covers them. */
const PREFIX_BYTES = 4 * 1024 * 1024;

/** ggml ftypes whisper.cpp models come in (f32, f16, q4_0, q4_1, q8_0, q5_0, q5_1, k-quants). */
const KNOWN_FTYPES = new Set([0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14]);

/** ggml tensor types: [elements per block, bytes per block]. */
const TENSOR_TYPES = new Map<number, [number, number]>([
  [0, [1, 4]], // f32
  [1, [1, 2]], // f16
  [2, [32, 18]], // q4_0
  [3, [32, 20]], // q4_1
  [6, [32, 22]], // q5_0
  [7, [32, 24]], // q5_1
  [8, [32, 34]], // q8_0
  [10, [256, 84]], // q2_K
  [11, [256, 110]], // q3_K
  [12, [256, 144]], // q4_K
  [13, [256, 176]], // q5_K
  [14, [256, 210]], // q6_K
]);

export interface GgmlModelInfo {
  nVocab: number;
  nMels: number;
  ftype: number;
  tensors: number;
}

/** What is wrong with the 48-byte header (magic + hyper-parameters), or undefined. */
export function ggmlHeaderProblem(header: Buffer): string | undefined {
  if (header.length < 4 || !header.subarray(0, 4).equals(MAGIC)) return 'it does not start with the ggml magic';
  if (header.length < HEADER_BYTES) return 'its header is cut short';
  const [nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels, ftype] = Array.from(
    { length: 11 },
    (_, i) => header.readInt32LE(4 + i * 4),
  ) as [number, number, number, number, number, number, number, number, number, number, number];
  const within = (value: number, max: number): boolean => value > 0 && value <= max;
  if (!within(nVocab, 1 << 20) || !within(nAudioCtx, 1 << 16) || !within(nTextCtx, 1 << 16))
    return 'its vocabulary or context sizes are implausible';
  if (!within(nAudioState, 1 << 14) || !within(nTextState, 1 << 14) || !within(nAudioHead, 256) || !within(nTextHead, 256))
    return 'its layer widths are implausible';
  if (!within(nAudioLayer, 256) || !within(nTextLayer, 256)) return 'its layer counts are implausible';
  if (nMels !== 80 && nMels !== 128) return `its mel band count ${nMels} is not 80 or 128`;
  // whisper.cpp stores ftype + 1000 × quantization version (GGML_QNT_VERSION_FACTOR).
  if (ftype < 0 || !KNOWN_FTYPES.has(ftype % 1000)) return `its weight type ${ftype} is unknown`;
  return undefined;
}

/** Checks the whole file's structure; returns what is wrong (a phrase) or the model's facts. */
export async function checkGgmlModelFile(file: string): Promise<{ problem: string } | { info: GgmlModelInfo }> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = Buffer.alloc(Math.min(size, PREFIX_BYTES));
    await handle.read(prefix, 0, prefix.length, 0);
    const headerProblem = ggmlHeaderProblem(prefix.subarray(0, HEADER_BYTES));
    if (headerProblem) return { problem: headerProblem };
    const nMels = prefix.readInt32LE(40);
    const ftype = prefix.readInt32LE(44);

    let offset = HEADER_BYTES;
    const need = (bytes: number): boolean => offset + bytes <= prefix.length;
    if (!need(8)) return { problem: 'it ends before its mel filters' };
    const melBands = prefix.readInt32LE(offset);
    const fftBins = prefix.readInt32LE(offset + 4);
    offset += 8;
    if (melBands <= 0 || melBands > 1024 || fftBins <= 0 || fftBins > 4096)
      return { problem: `its mel filter size ${melBands}×${fftBins} is implausible` };
    if (!need(melBands * fftBins * 4 + 4)) return { problem: 'it ends inside its mel filters' };
    offset += melBands * fftBins * 4;

    const nVocab = prefix.readInt32LE(offset);
    offset += 4;
    if (nVocab <= 0 || nVocab > 1 << 20) return { problem: `its vocabulary size ${nVocab} is implausible` };
    for (let word = 0; word < nVocab; word += 1) {
      if (!need(4)) return { problem: `it ends inside its vocabulary (word ${word} of ${nVocab})` };
      const length = prefix.readUInt32LE(offset);
      if (length > 1024) return { problem: `vocabulary word ${word} has an implausible length ${length}` };
      if (!need(4 + length)) return { problem: `it ends inside its vocabulary (word ${word} of ${nVocab})` };
      offset += 4 + length;
    }

    let tensors = 0;
    const head = Buffer.alloc(12 + 4 * 4 + 256);
    while (offset < size) {
      const { bytesRead } = await handle.read(head, 0, head.length, offset);
      if (bytesRead < 12) return { problem: `it ends inside tensor header ${tensors + 1}` };
      const nDims = head.readInt32LE(0);
      const nameLength = head.readInt32LE(4);
      const type = head.readInt32LE(8);
      if (nDims < 1 || nDims > 4 || nameLength < 1 || nameLength > 256)
        return { problem: `tensor ${tensors + 1} has an implausible header` };
      const layout = TENSOR_TYPES.get(type);
      if (!layout) return { problem: `tensor ${tensors + 1} has an unknown type ${type}` };
      if (bytesRead < 12 + nDims * 4 + nameLength) return { problem: `it ends inside tensor header ${tensors + 1}` };
      let elements = 1;
      for (let d = 0; d < nDims; d += 1) {
        const extent = head.readInt32LE(12 + d * 4);
        if (extent <= 0) return { problem: `tensor ${tensors + 1} has a bad dimension ${extent}` };
        elements *= extent;
      }
      const dataBytes = Math.ceil(elements / layout[0]) * layout[1];
      offset += 12 + nDims * 4 + nameLength + dataBytes;
      if (offset > size) return { problem: `it ends inside the data of tensor ${tensors + 1} (cut short by ${offset - size} bytes)` };
      tensors += 1;
    }
    return { info: { nVocab, nMels, ftype, tensors } };
  } finally {
    await handle.close();
  }
}

/** A tensor record as whisper.cpp's loader reads it: n_dims, name length, type, dims, name, data. */
export function tensorRecord(name: string, dims: number[], type: number, dataBytes: number): Buffer {
  const head = Buffer.alloc(12 + dims.length * 4);
  head.writeInt32LE(dims.length, 0);
  head.writeInt32LE(Buffer.byteLength(name), 4);
  head.writeInt32LE(type, 8);
  dims.forEach((d, i) => head.writeInt32LE(d, 12 + i * 4));
  return Buffer.concat([head, Buffer.from(name), Buffer.alloc(dataBytes)]);
}

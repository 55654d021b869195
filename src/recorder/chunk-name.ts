/** How chunk files are named: ffmpeg's segment pattern, and the number read back from a name. */
export const CHUNK_PATTERN = 'chunk_%05d.wav';

const CHUNK_NAME = /^chunk_(\d+)\.wav$/;

/** The chunk number of `chunk_00012.wav`; undefined for any other name (a `.torn` one included). */
export function chunkNumberOf(name: string): number | undefined {
  const match = CHUNK_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

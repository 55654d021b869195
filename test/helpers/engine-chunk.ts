import type { EngineChunk } from '../../src/transcription/engines/engine.js';
import { PIECE_BYTES } from '../../src/audio/engine-audio.js';

/** An EngineChunk whose audio is `pcm` (already in the engine's format), handed over in bounded pieces as the transcriber does. */
export function engineChunkOf(
  seq: number,
  offsetSeconds: number,
  pcm: Buffer,
  rest: Partial<Pick<EngineChunk, 'path' | 'durationSeconds'>> = {},
): EngineChunk {
  return {
    seq,
    path: rest.path ?? '',
    offsetSeconds,
    durationSeconds: rest.durationSeconds ?? pcm.length / 32000,
    async *audio() {
      for (let at = 0; at < pcm.length; at += PIECE_BYTES) yield pcm.subarray(at, at + PIECE_BYTES);
    },
  };
}

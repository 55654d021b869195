import type { TranscriptLine } from '../transcript/transcript-formats.js';

/**
 * Pure placement of live text among chunks. A live utterance may be written before the chunk it
 * lies in is closed, so its place is computed from the chunks known so far and, past them, the
 * segment length ffmpeg cuts at.
 */
export interface ChunkPlace {
  seq: number;
  start: number;
  end: number;
}

/** The seq of the chunk holding session second `t`: a known chunk, else counted on from the last. */
export function seqAtTime(places: readonly ChunkPlace[], t: number, segmentTime: number): number {
  const last = places.at(-1);
  if (!last) return 1 + Math.floor((t + 1e-6) / segmentTime);
  if (t >= last.end - 1e-6) return last.seq + 1 + Math.floor((t - last.end + 1e-6) / segmentTime);
  for (let i = places.length - 1; i >= 0; i--) if (places[i]!.start <= t + 1e-6) return places[i]!.seq;
  return places[0]!.seq;
}

/**
 * Drops the places no text can fall in any more: those before the last chunk settled (ending at
 * `settledTo`). The decoder's text comes in stream order, after what is settled; the last settled
 * chunk is kept for an utterance starting a rounding error early. So the list holds the chunks
 * not yet settled, not the whole session (issue 19 §3). Mutates `places`.
 */
export function forgetSettledPlaces(places: ChunkPlace[], settledTo: number): void {
  let n = 0;
  while (n < places.length - 1 && places[n + 1]!.end <= settledTo + 1e-6) n++;
  if (n > 0) places.splice(0, n);
}

export interface ChunkContribution {
  utterances: number;
  words: number;
  chars: number;
}

/**
 * What a chunk gave the transcript: the words (by their start time) of the utterances written so
 * far that lie in it, wherever the utterance's line says it starts. An utterance without word
 * times counts whole in the chunk it starts in.
 */
export function chunkContribution(lines: readonly TranscriptLine[], chunk: ChunkPlace): ChunkContribution {
  const inChunk = (t: number): boolean => t >= chunk.start - 1e-6 && t < chunk.end - 1e-6;
  let utterances = 0;
  let words = 0;
  let chars = 0;
  for (const line of lines) {
    const mine = line.words
      ? line.words.filter((w) => inChunk(w.start)).map((w) => w.word)
      : inChunk(line.start)
        ? line.text.split(/\s+/)
        : [];
    if (mine.length === 0) continue;
    utterances++;
    words += mine.length;
    chars += mine.join(' ').length;
  }
  return { utterances, words, chars };
}

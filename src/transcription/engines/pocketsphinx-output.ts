import type { TranscriptSegment, TranscriptWord } from './engine.js';
import { roundToMs } from '../../round-seconds.js';

/**
 * Parsers of pocketsphinx's stdout, pure and fed one line at a time. They return utterances
 * with times in seconds from the start of the stream the decoder was fed; StreamTimeline maps
 * those to session time.
 */
export type StreamUtterance = TranscriptSegment;

const WORD_LINE = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;

/** `the(2)` → `the`; fillers (`<s>`, `<sil>`, `[NOISE]`, `++BREATH++`) → undefined. */
export function normalizeWord(raw: string): string | undefined {
  if (FILLER.test(raw)) return undefined;
  return raw.replace(/\(\d+\)$/, '');
}

interface OpenUtterance {
  hyp: string;
  words: TranscriptWord[];
}

/**
 * pocketsphinx_continuous -time yes: a hypothesis line, then one `word start end conf` line per
 * segment. An utterance is complete when its words spell the hypothesis (the filler lines that
 * follow carry nothing), else when the next hypothesis or the end of the stream arrives.
 */
export class ContinuousOutputParser {
  private open: OpenUtterance | undefined;

  push(line: string): StreamUtterance[] {
    const word = WORD_LINE.exec(line.trim());
    if (word) {
      if (!this.open) return [];
      const text = normalizeWord(word[1]!);
      if (text === undefined) return [];
      this.open.words.push({ word: text, start: Number(word[2]), end: Number(word[3]) });
      if (this.open.words.map((w) => w.word).join(' ') === this.open.hyp) return this.close();
      return [];
    }
    const done = this.close();
    const hyp = line.trim().replace(/\s+/g, ' ');
    this.open = hyp ? { hyp, words: [] } : undefined;
    return done;
  }

  end(): StreamUtterance[] {
    return this.close();
  }

  private close(): StreamUtterance[] {
    const open = this.open;
    this.open = undefined;
    if (!open || !open.hyp) return [];
    const first = open.words[0];
    const last = open.words.at(-1);
    return [
      {
        start: first?.start ?? 0,
        end: last?.end ?? first?.start ?? 0,
        text: open.hyp,
        words: open.words.length > 0 ? open.words : undefined,
      },
    ];
  }
}

interface V5Line {
  b?: number;
  d?: number;
  t?: string;
  w?: Array<{ b?: number; d?: number; t?: string }>;
}

/** pocketsphinx 5.x `live`: one JSON object per utterance. Non-JSON lines are ignored. */
export function parseV5Line(line: string): StreamUtterance[] {
  let parsed: V5Line;
  try {
    parsed = JSON.parse(line) as V5Line;
  } catch {
    return [];
  }
  const text = (parsed.t ?? '').trim().replace(/\s+/g, ' ');
  if (!text || typeof parsed.b !== 'number') return [];
  const words = (parsed.w ?? []).flatMap((w) => {
    const word = w.t === undefined ? undefined : normalizeWord(w.t);
    return word === undefined || typeof w.b !== 'number' ? [] : [{ word, start: w.b, end: w.b + (w.d ?? 0) }];
  });
  return [{ start: parsed.b, end: parsed.b + (parsed.d ?? 0), text, words: words.length > 0 ? words : undefined }];
}

export interface OutputParser {
  push(line: string): StreamUtterance[];
  end(): StreamUtterance[];
}

/** The stream decoder's idle mark: nothing before stream second `streamSeconds` is still to come. */
export function formatIdleLine(streamSeconds: number): string {
  return JSON.stringify({ idle: roundToMs(streamSeconds) });
}

/** The stream second of an `{"idle":…}` line; undefined for any other line. */
export function parseIdleLine(line: string): number | undefined {
  if (!line.startsWith('{"idle"')) return undefined;
  try {
    const parsed = JSON.parse(line) as { idle?: unknown };
    return typeof parsed.idle === 'number' && Number.isFinite(parsed.idle) ? parsed.idle : undefined;
  } catch {
    return undefined;
  }
}

/**
 * echolog's stream decoder: 5.x's shape, plus idle marks (see stream-decoder-output.ts), each an
 * utterance without text that ends there: whoever takes utterances learns from its end that all
 * before it is final, and writes no line for it.
 */
export function parseStreamDecoderLine(line: string): StreamUtterance[] {
  const idle = parseIdleLine(line);
  return idle === undefined ? parseV5Line(line) : [{ start: idle, end: idle, text: '' }];
}

export function createOutputParser(variant: 'continuous' | 'v5' | 'stream'): OutputParser {
  if (variant === 'continuous') return new ContinuousOutputParser();
  return { push: variant === 'stream' ? parseStreamDecoderLine : parseV5Line, end: () => [] };
}

/**
 * Where each stretch of the decoder's stream sits in the session. Chunks the silence gate (or a
 * failure) kept from the decoder are simply absent from the stream, so stream time and session
 * time differ; each fed chunk is one piece. Chosen over feeding zeros for skipped chunks: a long
 * silent stretch costs nothing to decode, and the mapping stays exact. Live audio is one piece
 * per unbroken stretch; silence echolog adds to cut an utterance takes stream time but no session
 * time (its `sessionDuration` is 0).
 */
export interface TimelinePiece {
  seq: number;
  streamStart: number;
  sessionStart: number;
  duration: number;
  sessionDuration: number;
}

export class StreamTimeline {
  private readonly pieces: TimelinePiece[] = [];
  private streamEnd = 0;

  append(seq: number, sessionStart: number, duration: number, sessionDuration = duration): void {
    const last = this.pieces.at(-1);
    const contiguous = last && last.seq === seq && last.duration === last.sessionDuration && duration === sessionDuration;
    if (contiguous && Math.abs(last.sessionStart + last.sessionDuration - sessionStart) < 1e-6) {
      // The next stretch of the same unbroken audio: one piece, however long the session.
      last.duration += duration;
      last.sessionDuration += duration;
    } else {
      this.pieces.push({ seq, streamStart: this.streamEnd, sessionStart, duration, sessionDuration });
    }
    this.streamEnd += duration;
  }

  get fedSeconds(): number {
    return this.streamEnd;
  }

  /** Session seconds where the audio fed so far ends; undefined before any. */
  get sessionEnd(): number | undefined {
    const last = this.pieces.at(-1);
    return last && last.sessionStart + last.sessionDuration;
  }

  /** Session seconds for a stream time; past the last piece, continues from its end. */
  toSession(streamSeconds: number): number {
    const piece = this.pieceAt(streamSeconds);
    if (!piece) return streamSeconds;
    return roundToMs(piece.sessionStart + Math.min(Math.max(streamSeconds - piece.streamStart, 0), piece.sessionDuration));
  }

  mapSegment(segment: StreamUtterance): TranscriptSegment {
    return {
      start: this.toSession(segment.start),
      end: this.toSession(segment.end),
      text: segment.text,
      ...(segment.words
        ? { words: segment.words.map((w) => ({ word: w.word, start: this.toSession(w.start), end: this.toSession(w.end) })) }
        : {}),
    };
  }

  /** The last piece starting at or before `streamSeconds` (else the first). From the end: times asked for are recent. */
  private pieceAt(streamSeconds: number): TimelinePiece | undefined {
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      if (this.pieces[i]!.streamStart <= streamSeconds) return this.pieces[i];
    }
    return this.pieces[0];
  }
}

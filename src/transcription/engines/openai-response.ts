import type { TranscriptSegment, TranscriptWord } from './engine.js';
import { roundToMs } from '../../round-seconds.js';

/** The formats asked for, best first: segments with words, segments, one text. */
export type ResponseFormat = 'verbose_json+words' | 'verbose_json' | 'json';
export const RESPONSE_FORMATS: readonly ResponseFormat[] = ['verbose_json+words', 'verbose_json', 'json'];

/** Where a chunk sits in the session, to turn a response's chunk times into session times. */
export interface ChunkSpan {
  offsetSeconds: number;
  durationSeconds: number;
}

interface RawWord {
  word?: unknown;
  /** LocalAI names a word's text `text` (core/schema/transcription.go, TranscriptionWordSeconds). */
  text?: unknown;
  start?: unknown;
  end?: unknown;
}

interface RawSegment {
  start?: unknown;
  end?: unknown;
  text?: unknown;
  words?: unknown;
}

/** Thrown for a 2xx body that is not the documented shape: a server bug no retry fixes. */
export class MalformedResponseError extends Error {}

/**
 * A transcription response as utterances in session time. `verbose_json`: one per segment, with
 * its words (given at the top level, as OpenAI does, or per segment, as faster-whisper does);
 * `json` and `text`: one spanning the chunk. Times are clamped into the chunk. Pure.
 *
 * whisper.cpp's server (examples/server/server.cpp) cuts verbose_json segments at 60 characters
 * on a token boundary, mid-word (its max_len default with token timestamps on), and lists tokens
 * as its segments' "words" (" Dash", "wood"). Where pieces begin with a space, a piece that does
 * not (a segment or a word) continues the one before it, so words are never cut in two.
 */
export function parseTranscription(body: string, contentType: string, span: ChunkSpan): TranscriptSegment[] {
  const whole = (text: string): TranscriptSegment[] =>
    text.trim()
      ? [{ start: roundToMs(span.offsetSeconds), end: roundToMs(span.offsetSeconds + span.durationSeconds), text: text.trim() }]
      : [];
  if (!/json/i.test(contentType)) return whole(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedResponseError(`the server answered with JSON that does not parse: ${snippet(body)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { text?: unknown }).text !== 'string') {
    throw new MalformedResponseError(`the server's answer has no "text": ${snippet(body)}`);
  }
  const { text, segments, words } = parsed as { text: string; segments?: unknown; words?: unknown };
  if (!Array.isArray(segments) || segments.length === 0) return whole(text);
  const at = (value: unknown): number => roundToMs(span.offsetSeconds + Math.min(Math.max(Number(value) || 0, 0), span.durationSeconds));
  const topWords = joinPieces(piecesOf(words), at);
  const out: TranscriptSegment[] = [];
  for (const group of continuedGroups((segments as RawSegment[]).filter((s) => typeof s.text === 'string' && s.text.trim()))) {
    const start = at(group[0]!.start);
    const end = Math.max(start, at(group.at(-1)!.end));
    const own = joinPieces(
      group.flatMap((s) => piecesOf(s.words)),
      at,
    );
    const inside = own.length > 0 ? own : topWords.filter((w) => w.start >= start - 0.001 && w.start < end + 0.001);
    const joined = group
      .map((s) => s.text as string)
      .join('')
      .replace(/\s+/g, ' ')
      .trim();
    out.push({ start, end, text: joined, ...(inside.length > 0 ? { words: inside } : {}) });
  }
  return out;
}

interface Piece {
  text: string;
  start: unknown;
  end: unknown;
}

/** A response's word list as pieces of text with their times (`word`, or LocalAI's `text`). */
function piecesOf(raw: unknown): Piece[] {
  if (!Array.isArray(raw)) return [];
  return (raw as RawWord[]).flatMap((w) => {
    const text = typeof w.word === 'string' ? w.word : typeof w.text === 'string' ? w.text : '';
    return text.trim() ? [{ text, start: w.start, end: w.end }] : [];
  });
}

const startsSpaced = (text: string): boolean => /^\s/.test(text);

/** Words from pieces: where some piece begins with a space, one that does not continues the word before. */
function joinPieces(pieces: Piece[], at: (value: unknown) => number): TranscriptWord[] {
  const spaced = pieces.some((p) => startsSpaced(p.text));
  const out: TranscriptWord[] = [];
  for (const piece of pieces) {
    const last = out.at(-1);
    if (last && spaced && !startsSpaced(piece.text)) {
      last.word += piece.text.trim();
      last.end = Math.max(last.end, at(piece.end));
    } else {
      out.push({ start: at(piece.start), end: at(piece.end), word: piece.text.trim() });
    }
  }
  return out;
}

/** Segments grouped into utterances: where some segment text begins with a space, one that does not continues the one before. */
function continuedGroups(segments: RawSegment[]): RawSegment[][] {
  const spaced = segments.some((s) => startsSpaced(s.text as string));
  const groups: RawSegment[][] = [];
  for (const segment of segments) {
    const last = groups.at(-1);
    if (last && spaced && !startsSpaced(segment.text as string)) last.push(segment);
    else groups.push([segment]);
  }
  return groups;
}

/** The message of an error body: `{"error":{"message":…}}` (OpenAI), `{"detail":…}` (FastAPI servers), else the text. Pure. */
export function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; detail?: unknown; message?: unknown };
    const message = typeof parsed.error === 'object' ? parsed.error?.message : (parsed.error ?? parsed.detail ?? parsed.message);
    if (message !== undefined) return snippet(typeof message === 'string' ? message : JSON.stringify(message));
  } catch {
    // not JSON: the text itself
  }
  return snippet(body) || '(empty body)';
}

/** The most a server's Retry-After may make echolog wait before one retry. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long a 429/503 asks to wait: `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as
 * an HTTP date (RFC 9110 §10.2.3), bounded by MAX_RETRY_AFTER_MS; undefined when absent or unreadable. Pure.
 */
export function retryAfterMs(headers: { get(name: string): string | null }, nowMs: number): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs;
  return Number.isFinite(seconds) ? Math.min(Math.max(0, seconds), MAX_RETRY_AFTER_MS) : undefined;
}

/** The last `maxChars` of a chunk's text, cut at a word: the next request's prompt. Pure. */
export function promptTail(text: string, maxChars = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= maxChars) return flat;
  const tail = flat.slice(-maxChars);
  const space = tail.indexOf(' ');
  return space >= 0 ? tail.slice(space + 1) : tail;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

import type { TranscriptSegment, TranscriptWord } from './engine.js';
import { roundToMs } from './round-seconds.js';

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
 */
export function parseTranscription(body: string, contentType: string, span: ChunkSpan): TranscriptSegment[] {
  const whole = (text: string): TranscriptSegment[] =>
    text.trim() ? [{ start: roundToMs(span.offsetSeconds), end: roundToMs(span.offsetSeconds + span.durationSeconds), text: text.trim() }] : [];
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
  const toWords = (raw: unknown): TranscriptWord[] =>
    Array.isArray(raw) ? (raw as RawWord[]).filter((w) => typeof w.word === 'string' && w.word.trim()).map((w) => ({ start: at(w.start), end: at(w.end), word: String(w.word).trim() })) : [];
  const topWords = toWords(words);
  const out: TranscriptSegment[] = [];
  for (const raw of segments as RawSegment[]) {
    if (typeof raw.text !== 'string' || !raw.text.trim()) continue;
    const start = at(raw.start);
    const end = Math.max(start, at(raw.end));
    const own = toWords(raw.words);
    const inside = own.length > 0 ? own : topWords.filter((w) => w.start >= start - 0.001 && w.start < end + 0.001);
    out.push({ start, end, text: raw.text.trim(), ...(inside.length > 0 ? { words: inside } : {}) });
  }
  return out;
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

import type { TranscriptWord } from '../engines/engine.js';
import { roundToMs } from '../../round-seconds.js';

/**
 * The transcript files of a session folder, as pure functions of the transcript.jsonl lines.
 * A jsonl line is an utterance (seq: the chunk it starts in), or a chunk line (`chunk` set, text
 * ""): written once all of that chunk's text is in the file, or when the silence gate kept it
 * from the engine. The chunk lines are how `echolog transcribe` finds the chunks it lacks.
 */
export interface TranscriptLine {
  seq: number;
  /** Every chunk an utterance spans, when it spans more than `seq` (live lines cross boundaries). */
  seqs?: number[];
  /** Seconds from session start. */
  start: number;
  end: number;
  text: string;
  engine: string;
  latency_ms: number;
  words?: TranscriptWord[];
  /** A chunk line: the chunk is done (`silent`: below the silence threshold, not sent). */
  chunk?: 'transcribed' | 'silent';
}

/** Seed 003's transcript schema. */
export interface TranscriptDocument {
  session_id: string;
  language: string;
  duration: number;
  text: string;
  utterances: Array<{ start: number; end: number; text: string; words?: TranscriptWord[] }>;
}

export const TRANSCRIPT_FILES = {
  jsonl: 'transcript.jsonl',
  json: 'transcript.json',
  txt: 'transcript.txt',
  srt: 'transcript.srt',
  vtt: 'transcript.vtt',
} as const;

export function parseTranscriptJsonl(text: string): TranscriptLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as TranscriptLine];
      } catch {
        return []; // a line cut short by a crash
      }
    });
}

/** The seqs of the chunks the transcript covers. */
export function coveredSeqs(lines: readonly TranscriptLine[]): Set<number> {
  return new Set(lines.filter((line) => line.chunk !== undefined).map((line) => line.seq));
}

/**
 * One jsonl line. Times are rounded to the millisecond here, where every line is written: sums of
 * chunk durations are floats (`6.0129375000000005`), and no engine or caller has to remember.
 */
export function formatTranscriptLine(line: TranscriptLine): string {
  const words = line.words?.map((w) => ({ ...w, start: roundToMs(w.start), end: roundToMs(w.end) }));
  return `${JSON.stringify({ ...line, start: roundToMs(line.start), end: roundToMs(line.end), ...(words ? { words } : {}) })}\n`;
}

/** Utterances in time order; the order of lines with equal times is kept (a stable sort). */
export function buildTranscript(
  lines: readonly TranscriptLine[],
  meta: { sessionId: string; language: string; duration: number },
): TranscriptDocument {
  const utterances = lines
    .filter((line) => line.text.trim().length > 0)
    .map((line, index) => ({ line, index }))
    .sort((a, b) => a.line.start - b.line.start || a.index - b.index)
    .map(({ line }) => ({ start: line.start, end: line.end, text: line.text.trim(), ...(line.words ? { words: line.words } : {}) }));
  return {
    session_id: meta.sessionId,
    language: meta.language,
    duration: roundToMs(meta.duration),
    text: utterances.map((u) => u.text).join(' '),
    utterances,
  };
}

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed ? trimmed.split(/\s+/).length : 0;
}

export function formatJson(doc: TranscriptDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** One utterance per line. */
export function formatTxt(doc: TranscriptDocument): string {
  return doc.utterances.map((u) => `${u.text}\n`).join('');
}

/** `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT). */
export function formatCueTime(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = Math.floor((totalMs % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(totalMs % 1000, 3)}`;
}

export function formatSrt(doc: TranscriptDocument): string {
  return doc.utterances.map((u, i) => `${i + 1}\n${formatCueTime(u.start, ',')} --> ${formatCueTime(u.end, ',')}\n${u.text}\n`).join('\n');
}

export function formatVtt(doc: TranscriptDocument): string {
  const cues = doc.utterances.map((u) => `${formatCueTime(u.start, '.')} --> ${formatCueTime(u.end, '.')}\n${u.text}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

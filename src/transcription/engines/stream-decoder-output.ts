import { normalizeWord } from './pocketsphinx-output.js';
import { roundToMs } from '../../round-seconds.js';

/**
 * What the stream decoder (pocketsphinx-stream-decoder.ts) prints, one JSON object per line, and
 * when. Pure: the decoder's loop only calls into the library and prints these.
 * - an utterance: pocketsphinx 5.x's `live` shape, `{"b","d","t","w":[{"b","d","t"}]}`, times in
 *   seconds from the start of the stream, so parseV5Line reads both;
 * - a partial hypothesis: `{"partial":"…"}`, and `{"partial":""}` when an utterance ends (the
 *   screen drops it, whether or not the utterance had words);
 * - between utterances, `{"idle":S}` (formatIdleLine in pocketsphinx-output.ts, beside its
 *   parser): no utterance can still hold audio before stream second S, so everything before it is
 *   final. This is what lets echolog finalize chunks in a room whose pauses are room tone, not
 *   silence, without adding silence of its own (which changes what the decoder hears, and with it
 *   the words; issue 18).
 */
export interface DecodedWord {
  word: string;
  startFrame: number;
  endFrame: number;
}

export function formatUtteranceLine(hypothesis: string, words: readonly DecodedWord[], frameRate: number): string {
  const seconds = (frame: number): number => roundToMs(frame / frameRate);
  const spoken = words.filter((w) => normalizeWord(w.word) !== undefined);
  const span = spoken.length > 0 ? spoken : words;
  const begin = span.length > 0 ? seconds(span[0]!.startFrame) : 0;
  const end = span.length > 0 ? seconds(span.at(-1)!.endFrame) : begin;
  return JSON.stringify({
    b: begin,
    d: roundToMs(end - begin),
    t: hypothesis,
    w: words.map((w) => ({ b: seconds(w.startFrame), d: roundToMs(seconds(w.endFrame) - seconds(w.startFrame)), t: w.word })),
  });
}

export function formatPartialJsonLine(text: string): string {
  return JSON.stringify({ partial: text });
}

/** The partial text of a `{"partial":…}` line; undefined for any other line. */
export function parsePartialLine(line: string): string | undefined {
  if (!line.startsWith('{"partial"')) return undefined;
  try {
    const parsed = JSON.parse(line) as { partial?: unknown };
    return typeof parsed.partial === 'string' ? parsed.partial : undefined;
  } catch {
    return undefined;
  }
}

/**
 * pocketsphinx_continuous's rule for utterances, block by block: one starts when the decoder's
 * voice-activity detector says speech, and ends at the first block after which it says silence.
 * Partials: the hypothesis while in speech, printed when it changed and `partialEveryMs` have
 * passed since the last (a redraw per 128 ms block would flicker and cost a search backtrace).
 */
export class UtteranceSplitter {
  private inUtterance = false;
  private lastPartial = '';
  private lastPartialAt = -Infinity;
  private lastIdleMark = -Infinity;

  /**
   * `lookbackSeconds`: how far before the decoder's first "speech" an utterance can begin (its
   * `-vad_startspeech` frames to say speech plus the `-vad_prespeech` frames it keeps), so an
   * idle mark never claims audio the next utterance may still take.
   */
  constructor(
    private readonly partialEveryMs = 250,
    private readonly lookbackSeconds = 0,
    private readonly idleEverySeconds = 0.5,
  ) {}

  /** After a block: `end` closes the utterance, `speech` means one is under way. */
  afterBlock(inSpeech: boolean): 'end' | 'speech' | 'idle' {
    if (inSpeech) {
      this.inUtterance = true;
      return 'speech';
    }
    if (!this.inUtterance) return 'idle';
    this.inUtterance = false;
    this.lastPartial = '';
    this.lastPartialAt = -Infinity;
    return 'end';
  }

  /**
   * After an idle block ending at stream second `blockEnd`: the idle mark to print, at most one
   * per `idleEverySeconds` of stream (stream time, not the clock: the same audio gives the same marks).
   */
  idleMark(blockEnd: number): number | undefined {
    if (this.inUtterance) return undefined;
    const mark = blockEnd - this.lookbackSeconds;
    if (mark <= 0 || mark - this.lastIdleMark < this.idleEverySeconds) return undefined;
    this.lastIdleMark = mark;
    return mark;
  }

  get speaking(): boolean {
    return this.inUtterance;
  }

  /** Whether the decoder should ask for the hypothesis now (it costs a backtrace). */
  partialDue(nowMs: number): boolean {
    return this.inUtterance && nowMs - this.lastPartialAt >= this.partialEveryMs;
  }

  /** The partial to print for this hypothesis, if it says something new. */
  partial(hypothesis: string | null, nowMs: number): string | undefined {
    this.lastPartialAt = nowMs;
    const text = (hypothesis ?? '').trim();
    if (!text || text === this.lastPartial) return undefined;
    this.lastPartial = text;
    return text;
  }
}

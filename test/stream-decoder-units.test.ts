import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../src/cli/progress.js';
import { formatPartialScreenLine } from '../src/cli/text-format.js';
import { createOutputParser, formatIdleLine, parseIdleLine, parseV5Line } from '../src/transcription/engines/pocketsphinx-output.js';
import {
  formatPartialJsonLine,
  formatUtteranceLine,
  parsePartialLine,
  UtteranceSplitter,
} from '../src/transcription/engines/stream-decoder-output.js';

/** The pure parts of the stream decoder and of showing its partials. */
describe('stream decoder output', () => {
  // Frames as the decoder gave them for "we are" (frate 100), fillers included as the CLI prints them.
  const words = [
    { word: '<s>', startFrame: 0, endFrame: 21 },
    { word: 'we', startFrame: 22, endFrame: 37 },
    { word: '<sil>', startFrame: 38, endFrame: 40 },
    { word: 'are(2)', startFrame: 41, endFrame: 55 },
    { word: '</s>', startFrame: 56, endFrame: 80 },
  ];

  it('an utterance line reads back through the 5.x parser: spoken words only, their span, stream seconds', () => {
    const line = formatUtteranceLine('we are', words, 100);
    expect(parseV5Line(line)).toEqual([
      {
        start: 0.22,
        end: 0.55,
        text: 'we are',
        words: [
          { word: 'we', start: 0.22, end: 0.37 },
          { word: 'are', start: 0.41, end: 0.55 },
        ],
      },
    ]);
  });

  it('partial lines round-trip; other lines are not partials', () => {
    expect(parsePartialLine(formatPartialJsonLine('we are "going"'))).toBe('we are "going"');
    expect(parsePartialLine(formatPartialJsonLine(''))).toBe('');
    expect(parsePartialLine(formatUtteranceLine('we are', words, 100))).toBeUndefined();
    expect(parsePartialLine('{"partial": 3}')).toBeUndefined();
    expect(parsePartialLine('{"partial":"cut off')).toBeUndefined();
    expect(parseV5Line(formatPartialJsonLine('we are'))).toEqual([]);
  });
});

describe('idle marks', () => {
  it('round-trip; the stream parser reads one as an utterance without text ending there, the other parsers ignore it', () => {
    expect(parseIdleLine(formatIdleLine(12.3456))).toBe(12.346);
    expect(parseIdleLine(formatPartialJsonLine('x'))).toBeUndefined();
    expect(parseIdleLine('{"idle":"soon"}')).toBeUndefined();
    expect(parseIdleLine('{"idle":1')).toBeUndefined();
    expect(createOutputParser('stream').push(formatIdleLine(4.5))).toEqual([{ start: 4.5, end: 4.5, text: '' }]);
    expect(
      createOutputParser('stream').push(
        formatUtteranceLine(
          'we are',
          [
            { word: 'we', startFrame: 10, endFrame: 20 },
            { word: 'are', startFrame: 21, endFrame: 30 },
          ],
          100,
        ),
      ),
    ).toHaveLength(1);
    expect(createOutputParser('v5').push(formatIdleLine(4.5))).toEqual([]);
  });

  it('between utterances only, at most one per half second of stream, looking back over what the next utterance may take', () => {
    const splitter = new UtteranceSplitter(250, 0.3);
    splitter.afterBlock(false);
    expect(splitter.idleMark(0.128)).toBeUndefined(); // nothing final yet once the lookback is taken off
    expect(splitter.idleMark(0.512)).toBeCloseTo(0.212);
    expect(splitter.idleMark(0.64)).toBeUndefined();
    expect(splitter.idleMark(1.024)).toBeCloseTo(0.724);
    splitter.afterBlock(true);
    expect(splitter.idleMark(2.048)).toBeUndefined();
    splitter.afterBlock(false);
    expect(splitter.idleMark(2.176)).toBeCloseTo(1.876);
  });
});

describe('UtteranceSplitter', () => {
  it("pocketsphinx_continuous's rule: speech starts an utterance, the first silent block after it ends it", () => {
    const splitter = new UtteranceSplitter();
    expect([false, true, true, false, false, true, false].map((s) => splitter.afterBlock(s))).toEqual([
      'idle',
      'speech',
      'speech',
      'end',
      'idle',
      'speech',
      'end',
    ]);
  });

  it('partials: due at once, then at most every 250 ms; printed only when the hypothesis changed', () => {
    const splitter = new UtteranceSplitter(250);
    expect(splitter.partialDue(0)).toBe(false); // no utterance yet
    splitter.afterBlock(true);
    expect(splitter.partialDue(0)).toBe(true);
    expect(splitter.partial(null, 0)).toBeUndefined();
    expect(splitter.partialDue(100)).toBe(false);
    expect(splitter.partialDue(250)).toBe(true);
    expect(splitter.partial(' we ', 250)).toBe('we');
    expect(splitter.partial('we', 500)).toBeUndefined();
    expect(splitter.partial('we are', 750)).toBe('we are');
    // A new utterance starts afresh: the same words are news again.
    splitter.afterBlock(false);
    splitter.afterBlock(true);
    expect(splitter.partialDue(760)).toBe(true);
    expect(splitter.partial('we are', 760)).toBe('we are');
  });
});

describe('formatPartialScreenLine', () => {
  it('indented under the spinner, whole when it fits', () => {
    expect(formatPartialScreenLine('we are going', 80)).toBe('  we are going');
  });
  it('keeps the newest words of a long one within the width, never wrapping', () => {
    const line = formatPartialScreenLine('one two three four five six seven eight nine ten', 20);
    expect(line).toBe('  …n eight nine ten');
    expect(line.length).toBeLessThan(20); // the last column is left free: writing it wraps on some terminals
  });
});

describe('partials and the progress reporter', () => {
  it('where lines cannot be redrawn (a pipe, a file) only final lines are printed, never a partial', () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const progress = createProgressReporter({
      stdout,
      stderr,
      style: { color: false, animate: false },
      quiet: false,
      ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH' },
      engine: 'auto',
      now: () => new Date(0),
    });
    progress.onEvent({ type: 'partial', text: 'we are the' });
    progress.onEvent({ type: 'partial', text: 'we are going to' });
    progress.onEvent({ type: 'partial', text: '' });
    progress.onEvent({ type: 'text', seq: 1, text: 'we are going to talk', startSeconds: 1.2 });
    progress.stop();
    expect(out).toBe('[00:00:01] we are going to talk\n');
  });
});

/** A terminal stand-in for ora: a TTY of 80 columns whose cursor moves are written as escape codes. */
function fakeTerminal(): { stream: PassThrough & { isTTY: boolean; columns: number }; output: () => string } {
  const stream = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 80,
    cursorTo: (x: number) => stream.write(`\x1b[${x + 1}G`),
    moveCursor: (_dx: number, dy: number) => stream.write(`\x1b[${-dy}A`),
    clearLine: () => stream.write('\x1b[0K'),
  });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, output: () => out };
}

describe('partials under a spinner', () => {
  const started = {
    type: 'started' as const,
    sessionId: 's1',
    logPath: '/r/s1/session.log',
    level: 'info' as const,
    sessionDir: '/r/s1',
    pid: 1,
    startFields: {},
  };

  it('drawn dim under the spinner, replaced by the final line, never drawn once stopping or stopped', async () => {
    const terminal = fakeTerminal();
    const progress = createProgressReporter({
      stdout: terminal.stream,
      stderr: new PassThrough(),
      style: { color: true, animate: true },
      quiet: false,
      ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH' },
      engine: 'auto',
      now: () => new Date(0),
    });
    progress.onEvent(started);
    progress.onEvent({ type: 'partial', text: 'we are going' });
    const withPartial = terminal.output();
    expect(withPartial).toMatch(/Recording s1 · 00:00:00 · 0 chunks\n\x1b\[2m {2}we are going\x1b\[22m/);
    const mark = withPartial.length;
    progress.onEvent({ type: 'text', seq: 1, text: 'we are going to talk', startSeconds: 0 });
    const afterFinal = terminal.output().slice(mark);
    // The two-line frame is cleared (up one line), the final line written, the spinner drawn alone.
    expect(afterFinal).toMatch(/\x1b\[1A\x1b\[0K[^]*\[00:00:00\] we are going to talk\n/);
    expect(afterFinal).not.toContain('we are going\x1b[22m');
    // Once stopping, and once stopped, a late partial draws nothing at all (not even a spinner frame).
    progress.onEvent({ type: 'stopping', reason: 'signal' });
    const stopping = terminal.output().length;
    progress.onEvent({ type: 'partial', text: 'and then' });
    expect(terminal.output().length).toBe(stopping);
    progress.stop();
    const stopped = terminal.output().length;
    progress.onEvent({ type: 'partial', text: 'and then more' });
    expect(terminal.output().length).toBe(stopped);
  });
});

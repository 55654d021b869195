import { LevelWindowReader, parseLevelReportLine } from '../src/recorder/ffmpeg-level-report.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FfmpegNotFoundError, UsageError } from '../src/errors.js';
import { formatLogLine, parseLogLine, type LogFields } from '../src/logging/line-format.js';
import { chunkNumberOf } from '../src/recorder/chunk-name.js';
import {
  buildCaptureArgs,
  chunkPatternIn,
  defaultCaptureInput,
  levelWindowSeconds,
  type CaptureArgsOptions,
} from '../src/recorder/ffmpeg-args.js';
import { configuredFfmpeg, locateFfmpeg } from '../src/recorder/ffmpeg-locator.js';
import { parseSegmentListRow, splitCompleteLines } from '../src/recorder/segment-list.js';
import { StderrFloodGuard, type FloodGuardOutput } from '../src/recorder/stderr-flood-guard.js';
import { parseWavHeader, wavDurationSeconds, wavSizeMismatch } from '../src/recorder/wav-header.js';
import { newSessionId, validateSessionId } from '../src/store/session-id.js';
import { decideStopReason, exitCodeFor } from '../src/recording/stop-decision.js';
import { execFileAsync } from './helpers/cli.js';

const base: CaptureArgsOptions = {
  input: { format: 'lavfi', input: 'sine' },
  realtime: true,
  sampleRate: 16000,
  channels: 1,
  segmentTime: 10,
  durationSeconds: undefined,
  segmentListPath: '/s/segments.csv',
  chunkPattern: '/s/chunk_%05d.wav',
  segmentStartNumber: 1,
};
const args = (over: Partial<CaptureArgsOptions>): string[] => buildCaptureArgs({ ...base, ...over });
/** The value that follows `flag` in an argv, or undefined. */
const after = (argv: string[], flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

describe('buildCaptureArgs', () => {
  it('paces lavfi with -re before -i', () => expect(args({}).indexOf('-re')).toBeLessThan(args({}).indexOf('-i')));
  it('paces a file input with -re', () => expect(args({ input: { format: '', input: 'a.wav' } })).toContain('-re'));
  it('never paces a pulse device', () => expect(args({ input: { format: 'pulse', input: 'default' } })).not.toContain('-re'));
  it('never paces an alsa device', () => expect(args({ input: { format: 'alsa', input: 'default' } })).not.toContain('-re'));
  it('never paces avfoundation', () => expect(args({ input: { format: 'avfoundation', input: ':default' } })).not.toContain('-re'));
  it('--no-realtime drops -re', () => expect(args({ realtime: false })).not.toContain('-re'));
  it('a file input has no -f before -i', () => expect(args({ input: { format: '', input: 'a.wav' } }).slice(0, 4)).not.toContain('-f'));
  it('the input format precedes -i', () => expect(after(args({}), '-f')).toBe('lavfi'));
  it('-i names the input', () => expect(after(args({}), '-i')).toBe('sine'));
  it('-t only with a duration', () => expect(args({})).not.toContain('-t'));
  it('-t carries the duration', () => expect(after(args({ durationSeconds: 2.5 }), '-t')).toBe('2.5'));
  it('-t is an output option (after -i)', () =>
    expect(args({ durationSeconds: 3 }).indexOf('-t')).toBeGreaterThan(args({ durationSeconds: 3 }).indexOf('-i')));
  it('segment time', () => expect(after(args({ segmentTime: 1 }), '-segment_time')).toBe('1'));
  it('segment muxer', () => expect(args({}).filter((_, i, all) => all[i - 1] === '-f')).toEqual(['lavfi', 'segment']));
  it('segment list path', () => expect(after(args({}), '-segment_list')).toBe('/s/segments.csv'));
  it('segment list is csv', () => expect(after(args({}), '-segment_list_type')).toBe('csv'));
  it('resets timestamps per chunk', () => expect(after(args({}), '-reset_timestamps')).toBe('1'));
  it('16-bit PCM', () => expect(after(args({}), '-c:a')).toBe('pcm_s16le'));
  it('sample rate', () => expect(after(args({ sampleRate: 22050 }), '-ar')).toBe('22050'));
  it('channels', () => expect(after(args({ channels: 2 }), '-ac')).toBe('2'));
  it('no progress lines', () => expect(args({})).toContain('-nostats'));
  it('no banner', () => expect(args({})).toContain('-hide_banner'));
  it("each line tagged with ffmpeg's severity", () => expect(after(args({}), '-loglevel')).toBe('level+info'));
  it('-loglevel is a global option (before -i)', () => expect(args({}).indexOf('-loglevel')).toBeLessThan(args({}).indexOf('-i')));
  it('the chunk pattern is last', () => expect(args({}).at(-1)).toBe('/s/chunk_%05d.wav'));
});

describe('StderrFloodGuard', () => {
  const limits = { maxLinesPerSecond: 3, summaryIntervalMs: 10_000 };
  /** Feeds [line, ms] pairs; returns everything written, flushed at `end`. */
  const feed = (input: Array<[string, number]>, end: number, guard = new StderrFloodGuard(limits)): FloodGuardOutput[] => [
    ...input.flatMap(([line, now]) => guard.push(line, now)),
    ...guard.flush(end),
  ];

  it('passes distinct lines under the rate as they are', () =>
    expect(
      feed(
        [
          ['a', 0],
          ['b', 10],
          ['c', 20],
        ],
        30,
      ),
    ).toEqual([
      { kind: 'line', line: 'a' },
      { kind: 'line', line: 'b' },
      { kind: 'line', line: 'c' },
    ]));
  it('collapses identical consecutive lines into one count when a different line comes', () =>
    expect(
      feed(
        [
          ['a', 0],
          ['a', 1],
          ['a', 2],
          ['b', 3],
        ],
        4,
      ),
    ).toEqual([
      { kind: 'line', line: 'a' },
      { kind: 'repeated', line: 'a', count: 2 },
      { kind: 'line', line: 'b' },
    ]));
  it('flushes a pending count at the end', () =>
    expect(
      feed(
        [
          ['a', 0],
          ['a', 1],
        ],
        2,
      ),
    ).toEqual([
      { kind: 'line', line: 'a' },
      { kind: 'repeated', line: 'a', count: 1 },
    ]));
  it('a long run of one line says its count every summary interval', () => {
    const guard = new StderrFloodGuard(limits);
    const out = Array.from({ length: 2500 }, (_, i) => guard.push('same', i * 10)).flat();
    expect(out.filter((o) => o.kind === 'repeated')).toEqual([
      { kind: 'repeated', line: 'same', count: 1001 },
      { kind: 'repeated', line: 'same', count: 1001 },
    ]);
    expect(guard.flush(25_000)).toEqual([{ kind: 'repeated', line: 'same', count: 497 }]); // 1 + 1001 + 1001 + 497 = 2500;
  });
  it('caps lines per second and says how many were dropped, at most every interval and at the end', () => {
    const guard = new StderrFloodGuard(limits);
    // 20 distinct lines a second for 15 s.
    const out = Array.from({ length: 300 }, (_, i) => guard.push(`line ${i}`, i * 50)).flat();
    const written = out.filter((o) => o.kind === 'line');
    expect(written.length).toBe(45); // 3 a second
    const dropped = out.filter((o): o is Extract<FloodGuardOutput, { kind: 'dropped' }> => o.kind === 'dropped');
    expect(dropped).toHaveLength(1); // 10 s after the first drop
    const rest = guard.flush(15_000);
    expect(dropped[0]!.count + rest.reduce((n, o) => n + (o.kind === 'dropped' ? o.count : 0), 0)).toBe(300 - 45);
  });
  it('a count of repeats that does not fit the second counts as dropped lines', () => {
    const out = feed(
      [
        ['a', 0],
        ['b', 1],
        ['c', 2],
        ['c', 3],
        ['c', 4],
        ['d', 5],
      ],
      6,
    );
    expect(out).toEqual([
      { kind: 'line', line: 'a' },
      { kind: 'line', line: 'b' },
      { kind: 'line', line: 'c' },
      { kind: 'dropped', count: 3 },
    ]);
  });
  it('tick says what is due when the stream falls silent', () => {
    const guard = new StderrFloodGuard(limits);
    for (let i = 0; i < 10; i++) guard.push(`x${i}`, i);
    expect(guard.tick(5000)).toEqual([]);
    expect(guard.tick(10_010)).toEqual([{ kind: 'dropped', count: 7 }]);
    expect(guard.flush(20_000)).toEqual([]);
  });
});

describe('chunkPatternIn', () => {
  it('joins the numbered template', () => expect(chunkPatternIn('/r/s')).toBe('/r/s/chunk_%05d.wav'));
  it('doubles a % in the folder', () => expect(chunkPatternIn('/r/100%d/s')).toBe('/r/100%%d/s/chunk_%05d.wav'));
});

describe('chunkNumberOf', () => {
  it("reads back the number ffmpeg's pattern wrote; anything else is not a chunk", () => {
    expect(chunkNumberOf('chunk_00012.wav')).toBe(12);
    expect(chunkNumberOf('chunk_123456.wav')).toBe(123456); // past the pattern's five digits
    for (const name of ['chunk_00012.wav.torn', 'chunk_.wav', 'xchunk_00001.wav', 'chunk_00001.wav.tmp', 'segments.csv'])
      expect(chunkNumberOf(name), name).toBeUndefined();
  });
});

describe('defaultCaptureInput', () => {
  it('linux with pulse', () =>
    expect(defaultCaptureInput({ platform: 'linux', pulseAvailable: true })).toEqual({ format: 'pulse', input: 'default' }));
  it('linux without pulse falls back to alsa', () =>
    expect(defaultCaptureInput({ platform: 'linux', pulseAvailable: false })).toEqual({ format: 'alsa', input: 'default' }));
  it('macOS', () =>
    expect(defaultCaptureInput({ platform: 'darwin', pulseAvailable: false })).toEqual({ format: 'avfoundation', input: ':default' }));
  it('windows uses a named dshow device', () =>
    expect(defaultCaptureInput({ platform: 'win32', pulseAvailable: false })).toMatchObject({
      format: 'dshow',
      input: expect.stringMatching(/^audio=./),
    }));
});

describe('parseSegmentListRow', () => {
  it('plain row', () =>
    expect(parseSegmentListRow('chunk_00001.wav,0.000000,1.000000')).toEqual({ file: 'chunk_00001.wav', start: 0, end: 1 }));
  it('quoted name with a comma', () => expect(parseSegmentListRow('"a,b.wav",1.5,2.5')).toEqual({ file: 'a,b.wav', start: 1.5, end: 2.5 }));
  it('quoted name with doubled quotes', () => expect(parseSegmentListRow('"say ""hi"".wav",0,1')?.file).toBe('say "hi".wav'));
  it('trailing CR', () => expect(parseSegmentListRow('c.wav,0,1\r')?.file).toBe('c.wav'));
  it('missing end', () => expect(parseSegmentListRow('c.wav,0')).toBeUndefined());
  it('non-numeric times', () => expect(parseSegmentListRow('c.wav,x,y')).toBeUndefined());
  it('empty line', () => expect(parseSegmentListRow('')).toBeUndefined());
});

describe('splitCompleteLines', () => {
  it('no newline keeps all as rest', () => expect(splitCompleteLines('a,0')).toEqual({ lines: [], rest: 'a,0' }));
  it('whole lines and a partial rest', () => expect(splitCompleteLines('a\nb\nc')).toEqual({ lines: ['a', 'b'], rest: 'c' }));
  it('ends on a newline', () => expect(splitCompleteLines('a\nb\n')).toEqual({ lines: ['a', 'b'], rest: '' }));
  it('skips empty lines', () => expect(splitCompleteLines('a\n\nb\n')).toEqual({ lines: ['a', 'b'], rest: '' }));
  it('empty input', () => expect(splitCompleteLines('')).toEqual({ lines: [], rest: '' }));
});

describe('parseWavHeader / wavDurationSeconds', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-wav-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const makeWav = async (seconds: number, rate: number, channels: number): Promise<Buffer> => {
    const file = path.join(dir, `t-${seconds}-${rate}-${channels}.wav`);
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `sine=sample_rate=${rate}`,
      '-t',
      String(seconds),
      '-ac',
      String(channels),
      '-c:a',
      'pcm_s16le',
      file,
    ]);
    return fs.readFileSync(file);
  };

  it('reads a real ffmpeg WAV (with its LIST chunk) and its true duration', async () => {
    const buffer = await makeWav(0.5, 16000, 1);
    const info = parseWavHeader(buffer);
    expect(info).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16, dataBytes: 16000, riffFileBytes: buffer.length });
    expect(info.dataOffset + info.dataBytes).toBe(buffer.length);
    expect(wavDurationSeconds(info)).toBe(0.5);
  });
  it('stereo 48 kHz', async () => {
    const info = parseWavHeader(await makeWav(0.25, 48000, 2));
    expect([info.channels, info.sampleRate, wavDurationSeconds(info)]).toEqual([2, 48000, 0.25]);
  });
  it('empty buffer', () => expect(() => parseWavHeader(Buffer.alloc(0))).toThrow(/RIFF/));
  it('not RIFF', () => expect(() => parseWavHeader(Buffer.from('OggS0000WAVEfmt '))).toThrow(/RIFF/));
  it('RIFF but not WAVE', () => expect(() => parseWavHeader(Buffer.from('RIFF\0\0\0\0AVI LIST'))).toThrow(/RIFF\/WAVE/));
  it('only the RIFF header', () => expect(() => parseWavHeader(Buffer.from('RIFF\0\0\0\0WAVE'))).toThrow(/no data chunk/));
  it('header cut off before the data chunk', async () => {
    const buffer = await makeWav(0.1, 16000, 1);
    const info = parseWavHeader(buffer);
    expect(() => parseWavHeader(buffer.subarray(0, info.dataOffset - 8))).toThrow(/no data chunk/);
  });
  it('data chunk before fmt', () => {
    const b = Buffer.alloc(20);
    b.write('RIFF', 0);
    b.write('WAVE', 8);
    b.write('data', 12);
    expect(() => parseWavHeader(b)).toThrow(/before fmt/);
  });
});

describe('wavSizeMismatch: a listed chunk is finished only when its header agrees with its size', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-wavsize-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const realWav = async (): Promise<Buffer> => {
    const file = path.join(dir, 'c.wav');
    await execFileAsync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=sample_rate=16000',
      '-t',
      '0.5',
      '-c:a',
      'pcm_s16le',
      file,
    ]);
    return fs.readFileSync(file);
  };
  it('a WAV ffmpeg finished agrees', async () => {
    const buffer = await realWav();
    expect(wavSizeMismatch(parseWavHeader(buffer), buffer.length)).toBeUndefined();
  });
  it('cut short (a failed write): the header promises more audio than the file holds', async () => {
    const buffer = await realWav();
    expect(wavSizeMismatch(parseWavHeader(buffer), buffer.length - 6000)).toMatch(
      /header says 16000 bytes of audio, the file holds 10\d{3}/,
    );
  });
  it('never finalized: the 0xFFFFFFFF placeholder sizes', async () => {
    const buffer = await realWav();
    const info = parseWavHeader(buffer);
    buffer.writeUInt32LE(0xffffffff, 4);
    buffer.writeUInt32LE(0xffffffff, info.dataOffset - 4);
    expect(wavSizeMismatch(parseWavHeader(buffer), buffer.length)).toMatch(/header says 4294967295 bytes/);
  });
  it('data size right but RIFF size stale', async () => {
    const buffer = await realWav();
    buffer.writeUInt32LE(0, 4);
    expect(wavSizeMismatch(parseWavHeader(buffer), buffer.length)).toMatch(/RIFF size says 8 bytes/);
  });
});

describe('formatLogLine / parseLogLine', () => {
  const time = new Date('2026-01-02T03:04:05.678Z');
  const roundTrip = (fields: LogFields) =>
    parseLogLine(formatLogLine({ time, level: 'INFO', logger: 'echolog.test', message: 'event', fields }));
  it('the line format', () =>
    expect(formatLogLine({ time, level: 'WARNING', logger: 'a.b', message: 'm', fields: { k: 'v' } })).toBe(
      '2026-01-02T03:04:05Z WARNING a.b: m k=v',
    ));
  it('plain value', () => expect(roundTrip({ a: 'x' })?.fields).toEqual({ a: 'x' }));
  it('spaces', () => expect(roundTrip({ a: 'two words' })?.fields.a).toBe('two words'));
  it('double quotes', () => expect(roundTrip({ a: 'say "hi"' })?.fields.a).toBe('say "hi"'));
  it('single quote', () => expect(roundTrip({ a: "it's" })?.fields.a).toBe("it's"));
  it('equals signs', () => expect(roundTrip({ a: 'k=v,x=y' })?.fields.a).toBe('k=v,x=y'));
  it('newlines stay on one line', () => {
    const line = formatLogLine({ time, level: 'INFO', logger: 'l', message: 'm', fields: { a: 'one\ntwo\r\nthree' } });
    expect(line.split('\n')).toHaveLength(1);
    expect(parseLogLine(line)?.fields.a).toBe('one\ntwo\r\nthree');
  });
  it('backslashes', () => expect(roundTrip({ a: 'C:\\x\\y' })?.fields.a).toBe('C:\\x\\y'));
  it('empty string', () => expect(roundTrip({ a: '' })?.fields.a).toBe(''));
  it('numbers and booleans', () => expect(roundTrip({ n: 42, f: 1.5, b: true })?.fields).toEqual({ n: '42', f: '1.500', b: 'true' }));
  it('message, logger, level, timestamp', () =>
    expect(roundTrip({ a: 'x y' })).toMatchObject({
      timestamp: '2026-01-02T03:04:05Z',
      level: 'INFO',
      logger: 'echolog.test',
      message: 'event',
    }));
  it('many fields at once', () => {
    const fields = { command: "/usr/bin/ffmpeg -i 'a b.wav' -f segment", line: 'x=1 y="2"', n: 3 };
    expect(roundTrip(fields)?.fields).toEqual({ ...fields, n: '3' });
  });
  it('a message with a newline stays one line', () =>
    expect(formatLogLine({ time, level: 'ERROR', logger: 'l', message: 'a\nb' })).toBe('2026-01-02T03:04:05Z ERROR l: a b'));
  it('rejects a line without a timestamp', () => expect(parseLogLine('INFO l: m')).toBeUndefined());
});

describe('decideStopReason / exitCodeFor', () => {
  it('duration end', () => expect(decideStopReason(undefined, 'duration_reached')).toBe('duration_reached'));
  it('end of a file input', () => expect(decideStopReason(undefined, 'end_of_input')).toBe('end_of_input'));
  it('restarts used up', () => expect(decideStopReason(undefined, 'ffmpeg_exit')).toBe('ffmpeg_exit'));
  it('a device that did not come back', () => expect(decideStopReason(undefined, 'device_lost')).toBe('device_lost'));
  it('Ctrl-C wins over how capture ended', () =>
    expect(decideStopReason({ reason: 'user_interrupt', signal: 'SIGINT' }, 'stopped')).toBe('user_interrupt'));
  it('SIGTERM', () => expect(decideStopReason({ reason: 'terminated', signal: 'SIGTERM' }, 'stopped')).toBe('terminated'));
  it('low disk', () => expect(decideStopReason({ reason: 'disk_low', message: 'x' }, 'stopped')).toBe('disk_low'));
  it('1 for device_lost and disk_low', () =>
    expect([exitCodeFor('device_lost', undefined), exitCodeFor('disk_low', { reason: 'disk_low' })]).toEqual([1, 1]));
  it('0 for duration_reached', () => expect(exitCodeFor('duration_reached', undefined)).toBe(0));
  it('0 for end_of_input', () => expect(exitCodeFor('end_of_input', undefined)).toBe(0));
  it('130 for SIGINT', () => expect(exitCodeFor('user_interrupt', { reason: 'user_interrupt', signal: 'SIGINT' })).toBe(130));
  it('143 for SIGTERM', () => expect(exitCodeFor('terminated', { reason: 'terminated', signal: 'SIGTERM' })).toBe(143));
  it('129 for SIGHUP', () => expect(exitCodeFor('terminated', { reason: 'terminated', signal: 'SIGHUP' })).toBe(129));
  it('130 for an interrupt without a signal', () => expect(exitCodeFor('user_interrupt', { reason: 'user_interrupt' })).toBe(130));
  it('1 for ffmpeg_exit', () => expect(exitCodeFor('ffmpeg_exit', undefined)).toBe(1));
  it('1 for error', () => expect(exitCodeFor('error', { reason: 'error', message: 'x' })).toBe(1));
});

describe('newSessionId / validateSessionId', () => {
  it('is a UTC stamp plus a random suffix', () =>
    expect(newSessionId(new Date('2026-11-22T03:25:02.123Z'), () => 'abc123')).toBe('20261122T032502Z-abc123'));
  it('sorts by start time', () => {
    const times = ['2026-01-01T00:00:09Z', '2025-12-31T23:59:59Z', '2026-01-01T00:00:10Z', '2026-10-01T00:00:00Z'].map((t) => new Date(t));
    const ids = times.map((t) => newSessionId(t));
    expect([...ids].sort()).toEqual([1, 0, 2, 3].map((i) => ids[i]));
  });
  it('is unique within one second', () => {
    const now = new Date();
    expect(new Set(Array.from({ length: 50 }, () => newSessionId(now))).size).toBe(50);
  });
  it('is filesystem-safe and valid', () => {
    const id = newSessionId(new Date());
    expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(validateSessionId(id)).toBe(id);
  });
  it('accepts a simple name', () => expect(validateSessionId('meeting-1.take_2')).toBe('meeting-1.take_2'));
  it.each(['', '../x', 'a/b', '.hidden', '-flag', 'sp ace', 'x'.repeat(129), 'a\\b', 'ü'])('refuses %j with what is allowed', (id) => {
    expect(() => validateSessionId(id)).toThrow(UsageError);
    expect(() => validateSessionId(id)).toThrow(/letters, digits/);
  });
});

describe('locateFfmpeg', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-locate-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const fake = path.join(bin, 'ffmpeg');
  fs.writeFileSync(fake, '#!/bin/sh\n', { mode: 0o755 });
  const notExecutable = path.join(dir, 'plain');
  fs.writeFileSync(notExecutable, '', { mode: 0o644 });
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);

  const none = async (): Promise<string | undefined> => undefined;
  const bundled = (file: string) => async (): Promise<string | undefined> => file;

  it('a configured path wins over PATH and ffmpeg-static, named by where it was set', async () => {
    expect(await locateFfmpeg({ configured: { path: fake, source: 'config' }, env: { PATH: bin }, bundledPath: bundled(fake) })).toEqual({
      path: fake,
      source: 'config',
    });
    expect(await locateFfmpeg({ configured: { path: fake, source: 'env' }, env: { PATH: bin }, bundledPath: none })).toEqual({
      path: fake,
      source: 'env',
    });
  });
  it('a missing configured path is an error naming it', async () => {
    const missing = path.join(dir, 'nope', 'ffmpeg');
    await expect(locateFfmpeg({ configured: { path: missing, source: 'config' }, env: { PATH: bin }, bundledPath: none })).rejects.toThrow(
      FfmpegNotFoundError,
    );
    await expect(locateFfmpeg({ configured: { path: missing, source: 'env' }, env: { PATH: bin }, bundledPath: none })).rejects.toThrow(
      `ECHOLOG_FFMPEG ${missing}`,
    );
  });
  it('a configured file that is not executable is refused', () =>
    expect(locateFfmpeg({ configured: { path: notExecutable, source: 'config' }, env: { PATH: bin }, bundledPath: none })).rejects.toThrow(
      notExecutable,
    ));
  it('an ffmpeg on PATH wins over ffmpeg-static, which is not even loaded', async () => {
    let asked = false;
    const other = path.join(dir, 'static-ffmpeg');
    fs.writeFileSync(other, '#!/bin/sh\n', { mode: 0o755 });
    const location = await locateFfmpeg({
      configured: undefined,
      env: { PATH: `${empty}:${bin}` },
      bundledPath: async () => ((asked = true), other),
    });
    expect(location).toEqual({ path: fake, source: 'PATH' });
    expect(asked).toBe(false);
  });
  it('ffmpeg-static only when PATH has no ffmpeg', async () =>
    expect(await locateFfmpeg({ configured: undefined, env: { PATH: empty }, bundledPath: bundled(fake) })).toEqual({
      path: fake,
      source: 'ffmpeg-static',
    }));
  it('searches PATH in order', async () =>
    expect((await locateFfmpeg({ configured: undefined, env: { PATH: `${empty}:${bin}` }, bundledPath: none })).path).toBe(fake));
  it('configuredFfmpeg names ECHOLOG_FFMPEG as env and the config file (or a flag) as config', () => {
    expect(configuredFfmpeg(fake, 'env')).toEqual({ path: fake, source: 'env' });
    expect(configuredFfmpeg(fake, 'file')).toEqual({ path: fake, source: 'config' });
    expect(configuredFfmpeg(fake, 'flag')).toEqual({ path: fake, source: 'config' });
    expect(configuredFfmpeg('', 'default')).toBeUndefined();
  });
  it('none found: says what was tried and how to install', async () => {
    const error = await locateFfmpeg({ configured: undefined, env: { PATH: empty }, bundledPath: none }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(FfmpegNotFoundError);
    expect(error?.message).toContain('ECHOLOG_FFMPEG');
    expect(error?.message).toContain('ffmpeg-static');
    expect(error?.message).toContain(empty);
    expect(error?.message).toMatch(/apt-get install ffmpeg/);
  });
});

describe('the level report (ffmpeg measures each window)', () => {
  it('the chunk output carries the level filter: unbuffered, on stderr, windows of 1 s live and up to 5 s at full speed', () => {
    const filter = after(args({}), '-af')!;
    expect(filter).toContain('asetnsamples=n=16000:p=0,astats=metadata=1:reset=1');
    expect(filter).toContain('measure_overall=RMS_level+Number_of_samples');
    expect(after(args({ realtime: false }), '-af')).toContain('asetnsamples=n=80000:p=0,astats');
    expect(after(args({ realtime: false, input: { format: 'pulse', input: 'default' } }), '-af')).toContain(
      'asetnsamples=n=16000:p=0,astats',
    );
    expect(filter).toContain("file='pipe\\:2':direct=1");
  });
  it('full-speed windows divide a chunk of a second or more, none longer than 5 s or shorter than 1 s', () => {
    expect([10, 3, 7, 1800, 1.5, 0.5, 0.01].map((s) => levelWindowSeconds(false, s))).toEqual([5, 3, 3.5, 5, 1.5, 1, 1]);
    expect(levelWindowSeconds(true, 1800)).toBe(1);
  });
  it('the audio is measured up to -t, not past it (ffmpeg trims an output after its filters)', () => {
    expect(after(args({ durationSeconds: 14 }), '-af')).toMatch(/^atrim=duration=14,aresample=/);
    expect(after(args({}), '-af')).not.toContain('atrim');
  });
  it('parses ametadata lines, and only those', () => {
    expect(parseLevelReportLine('frame:3    pts:48000   pts_time:3')).toEqual({ kind: 'frame' });
    expect(parseLevelReportLine('lavfi.astats.Overall.RMS_level=-27.094342')).toEqual({ kind: 'level', db: -27.094342 });
    expect(parseLevelReportLine('lavfi.astats.Overall.RMS_level=-inf')).toEqual({ kind: 'level', db: -Infinity });
    expect(parseLevelReportLine('lavfi.astats.Overall.Number_of_samples=36800.000000')).toEqual({ kind: 'samples', count: 36800 });
    expect(parseLevelReportLine('[info] frame:3 pts:1')).toBeUndefined();
    expect(parseLevelReportLine('progress=end')).toBeUndefined();
  });
  it('a window is its level and its true length; a torn one never pairs with the next', () => {
    const windows: Array<[number, number]> = [];
    const reader = new LevelWindowReader(16000, (db, seconds) => windows.push([db, seconds]));
    const report = [
      'frame:0    pts:0       pts_time:0',
      'lavfi.astats.Overall.RMS_level=-21.5',
      'lavfi.astats.Overall.Number_of_samples=80000.000000',
      'frame:1    pts:80000   pts_time:5',
      'lavfi.astats.Overall.RMS_level=-inf',
      'frame:2    pts:112000  pts_time:7',
      'lavfi.astats.Overall.Number_of_samples=16000.000000',
      'lavfi.astats.Overall.RMS_level=-30',
    ];
    expect(report.map((line) => reader.line(line))).toEqual(report.map(() => true));
    expect(reader.line('[info] size=N/A')).toBe(false);
    expect(windows).toEqual([
      [-21.5, 5],
      [-30, 1],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { parseLogLine, type ParsedLogLine } from '../src/logging/line-format.js';
import {
  formatBytes,
  formatChain,
  formatClock,
  formatContinuity,
  formatDeleteQuestion,
  formatListJson,
  formatListTable,
} from '../src/cli/sessions-format.js';
import { parseListQuery } from '../src/cli/sessions-flags.js';
import { parseCount, parseDuration, parseTimeBound } from '../src/cli/time-flags.js';
import { analyzeContinuity, lastProblems } from '../src/sessions/session-continuity.js';
import {
  AUDIO_FORMATS,
  buildExportArgs,
  formatConcatList,
  formatOfFile,
  formatTranscript,
  mergeTranscripts,
  TRANSCRIPT_FORMATS,
} from '../src/sessions/session-export.js';
import type { SessionManifest } from '../src/store/session-manifest.js';
import { parseManifest } from '../src/store/session-manifest.js';
import { rebuildManifest, type LoggedChunk } from '../src/store/manifest-rebuild.js';
import {
  pageSessions,
  resolveChain,
  selectByTime,
  summarize,
  type SessionKey,
  type SessionSummary,
} from '../src/sessions/session-query.js';
import { STOP_REASONS, stopLevelFor, type StopReason } from '../src/store/stop-reason.js';

const NOW = new Date('2026-11-22T12:00:00Z');

function key(id: string, startedAt: string, resumedFrom: string | null): SessionKey {
  return { id, started_ms: Date.parse(startedAt), resumed_from: resumedFrom };
}

function summary(id: string, started_at: string, over: Partial<SessionSummary> = {}): SessionSummary {
  return {
    id,
    status: 'completed',
    started_at,
    ended_at: null,
    stop_reason: 'duration_reached',
    audio_duration_seconds: 2,
    chunks: 2,
    utterance_count: 0,
    word_count: 0,
    bytes_on_disk: 1000,
    engine: null,
    model: null,
    language: 'en',
    resumed_from: null,
    ...over,
  };
}

describe('time flags', () => {
  it('parses durations, compound ones too', () => {
    expect(parseDuration('90s', '--older-than')).toBe(90_000);
    expect(parseDuration('1h30m', '--older-than')).toBe(5_400_000);
    expect(parseDuration('7d', '--older-than')).toBe(7 * 86_400_000);
    expect(parseDuration('2w', '--older-than')).toBe(14 * 86_400_000);
    expect(parseDuration('0.5h', '--older-than')).toBe(1_800_000);
    expect(parseDuration('30m1h', '--older-than')).toBe(5_400_000);
  });
  // A bare number would be seconds elsewhere in echolog; here `--older-than 30` meant as days would
  // delete every session, so a unit is required. Repeated units and more than ten years are no durations.
  it.each(['', 'd', '7x', '-1d', '7 d', '1h 30m', 'P7D', '30', '2.5', '1m1m', '3651d', `1${'0'.repeat(400)}s`, '99999999999999w'])(
    'refuses the duration %j, naming the flag and the value',
    (bad) => {
      expect(() => parseDuration(bad, '--older-than')).toThrow(UsageError);
      expect(() => parseDuration(bad, '--older-than')).toThrow(`--older-than ${JSON.stringify(bad)} is not allowed`);
    },
  );
  it('reads dates and date-times as UTC, and a duration as that long ago', () => {
    expect(parseTimeBound('2026-11-20', '--since', NOW).toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(parseTimeBound('2026-11-20T03:04:05', '--since', NOW).toISOString()).toBe('2026-11-20T03:04:05.000Z');
    expect(parseTimeBound('2026-11-20T03:04:05+01:00', '--since', NOW).toISOString()).toBe('2026-11-20T02:04:05.000Z');
    expect(parseTimeBound('2h', '--since', NOW).toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expect(parseTimeBound('90s', '--since', NOW).toISOString()).toBe('2026-11-22T11:58:30.000Z');
  });
  it.each(['yesterday', '2026-13-40', '2026-11-20T', 'now', '2026', '90', '99999999999999w'])('refuses the time %j', (bad) => {
    expect(() => parseTimeBound(bad, '--until', NOW)).toThrow(`--until ${JSON.stringify(bad)} is not allowed`);
  });
  it('counts are whole numbers from a minimum', () => {
    expect(parseCount('50', '--limit', 1)).toBe(50);
    expect(parseCount('0', '--offset', 0)).toBe(0);
    for (const bad of ['0', '-1', '1.5', 'x', '']) expect(() => parseCount(bad, '--limit', 1)).toThrow(UsageError);
  });
});

describe('parseListQuery', () => {
  const flags = { limit: '50', offset: '0' };
  it('maps the seed\'s "active" to echolog\'s "recording"', () => {
    expect(parseListQuery({ ...flags, status: 'active' }, NOW).status).toBe('recording');
    expect(parseListQuery({ ...flags, status: 'recording' }, NOW).status).toBe('recording');
    expect(parseListQuery({ ...flags, status: 'interrupted' }, NOW).status).toBe('interrupted');
  });
  it.each(['done', 'constructor', 'toString', ''])('refuses --status %j and names the allowed ones', (bad) => {
    expect(() => parseListQuery({ ...flags, status: bad }, NOW)).toThrow(
      /--status .* is not allowed: use active, recording, completed, error, interrupted/,
    );
  });
  it('parses every filter', () => {
    expect(parseListQuery({ status: 'error', since: '1d', until: '2026-11-22', limit: '5', offset: '10' }, NOW)).toEqual({
      status: 'error',
      since: new Date('2026-11-21T12:00:00Z'),
      until: new Date('2026-11-22T00:00:00Z'),
      limit: 5,
      offset: 10,
    });
  });
});

describe('selectByTime and pageSessions', () => {
  const all = [
    summary('b', '2026-11-21T10:00:00.000Z'),
    summary('a', '2026-11-20T10:00:00.000Z', { status: 'error' }),
    summary('d', '2026-11-22T10:00:00.000Z', { status: 'interrupted' }),
    // Same start as d: the id breaks the tie, so pages never reorder.
    summary('c', '2026-11-22T10:00:00.000Z'),
    // A start written with an offset sorts by the instant.
    summary('e', '2026-11-22T12:30:00+01:00'),
  ];
  const keys = all.map((s) => key(s.id, s.started_at, null));
  const read = async (id: string): Promise<SessionSummary | undefined> => all.find((s) => s.id === id);

  it('orders newest first by started_at, then by id', () => {
    expect(selectByTime(keys, {}).map((s) => s.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });
  it('since is inclusive, until exclusive', () => {
    expect(selectByTime(keys, { since: new Date('2026-11-21T10:00:00Z') }).map((s) => s.id)).toEqual(['e', 'd', 'c', 'b']);
    expect(selectByTime(keys, { until: new Date('2026-11-21T10:00:00Z') }).map((s) => s.id)).toEqual(['a']);
  });
  it('pages without a status filter read only the page', async () => {
    const asked: string[] = [];
    const page = await pageSessions(selectByTime(keys, {}), { limit: 2, offset: 1 }, async (id) => (asked.push(id), read(id)));
    expect(page.sessions.map((s) => s.id)).toEqual(['d', 'c']);
    expect(asked).toEqual(['d', 'c']);
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 1 });
  });
  it('a status filter counts and pages the matching sessions only', async () => {
    const page = await pageSessions(selectByTime(keys, {}), { status: 'completed', limit: 1, offset: 1 }, read);
    expect(page.sessions.map((s) => s.id)).toEqual(['c']);
    expect(page.total).toBe(3);
  });
  it('a session that is gone by the time it is read is left out', async () => {
    const page = await pageSessions(selectByTime(keys, {}), { limit: 3, offset: 0 }, async (id) => (id === 'd' ? undefined : read(id)));
    expect(page.sessions.map((s) => s.id)).toEqual(['e', 'c']);
  });
});

describe('resolveChain', () => {
  const s = (id: string, minute: number, from: string | null): SessionKey =>
    key(id, `2026-11-22T10:${String(minute).padStart(2, '0')}:00Z`, from);
  it('follows resumed_from back and the resuming sessions forward', () => {
    const all = [s('a', 1, null), s('b', 2, 'a'), s('c', 3, 'b'), s('x', 4, null)];
    expect(resolveChain(all, 'b')).toEqual({ ids: ['a', 'b', 'c'] });
    expect(resolveChain(all, 'a').ids).toEqual(['a', 'b', 'c']);
    expect(resolveChain(all, 'x')).toEqual({ ids: ['x'] });
  });
  it('names a deleted ancestor and a fork', () => {
    const chain = resolveChain([s('b', 2, 'gone'), s('c', 3, 'b'), s('d', 4, 'b')], 'b');
    expect(chain).toEqual({ ids: ['b'], missingParent: 'gone', fork: { id: 'b', children: ['c', 'd'] } });
    expect(formatChain(chain, 'b')).toBe('gone (deleted) → [b] → fork: c | d');
  });
  it('a loop of links from disk ends', () => {
    expect(resolveChain([s('a', 1, 'b'), s('b', 2, 'a')], 'a').ids).toEqual(['b', 'a']);
  });
});

describe('summarize', () => {
  const manifest = parseManifest({
    session_id: 'x1',
    status: 'completed',
    pid: 10,
    ffmpeg_pid: null,
    started_at: '2026-11-22T10:00:00.000Z',
    ended_at: '2026-11-22T10:01:00.000Z',
    stop_reason: 'duration_reached',
    error: null,
    log_level: 'info',
    sample_rate: 16000,
    channels: 1,
    stats: { chunks: 3, audio_duration_seconds: 6, utterance_count: 2, word_count: 7 },
  }) as SessionManifest;
  it("uses the folder's name and the seed's field names; fields an older echolog did not write are null", () => {
    expect(summarize('x1', manifest)).toEqual({
      id: 'x1',
      status: 'completed',
      started_at: '2026-11-22T10:00:00.000Z',
      ended_at: '2026-11-22T10:01:00.000Z',
      stop_reason: 'duration_reached',
      audio_duration_seconds: 6,
      chunks: 3,
      utterance_count: 2,
      word_count: 7,
      bytes_on_disk: null,
      engine: null,
      model: null,
      language: null,
      resumed_from: null,
    });
  });
  it('a manifest whose resumed_from is not a session id is refused (it becomes a path)', () => {
    expect(parseManifest({ ...manifest, resumed_from: '../etc' })).toBe('invalid resumed_from');
    expect(parseManifest({ ...manifest, resumed_from: 'a1' })).toMatchObject({ resumed_from: 'a1' });
  });
});

describe('a rebuilt session.json keeps what session_start says of the session', () => {
  const start = {
    session_id: 's1',
    start_time: '2026-01-02T03:04:05.000Z',
    sample_rate: '16000',
    channels: '1',
    segment_time: '1',
    log_level: 'info',
    pid: '4242',
  };
  const evidence = (fields: Record<string, string>) => ({
    dirName: 's1',
    logPath: '/r/s1/session.log',
    start: { ...start, ...fields },
    rows: [],
    logged: new Map<string, LoggedChunk>(),
  });
  it('its resume link and engine', () => {
    expect(
      rebuildManifest(evidence({ resumed_from: 'a1', transcription_engine: 'pocketsphinx', transcription_model: 'en-us' })),
    ).toMatchObject({ resumed_from: 'a1', engine: 'pocketsphinx', model: 'en-us' });
    expect(rebuildManifest(evidence({ transcription_engine: 'none' }))).toMatchObject({ resumed_from: null, engine: null, model: null });
  });
  it('a resume link that is a path is refused', () => {
    expect(rebuildManifest(evidence({ resumed_from: '../x' }))).toBe("session.log's session_start line has an invalid resumed_from");
  });
});

describe('continuity', () => {
  const log = (lines: string[]): ParsedLogLine[] => lines.map((l) => parseLogLine(l)!);
  it('a continuous session', () => {
    const c = analyzeContinuity(
      [
        { file: 'chunk_00001.wav', start: 0, end: 1.000062 },
        { file: 'chunk_00002.wav', start: 1.000062, end: 2 },
      ],
      ['chunk_00001.wav', 'chunk_00002.wav'],
      log(['2026-11-22T10:00:00Z INFO echolog.ffmpeg: ffmpeg_started pid=5']),
    );
    expect(c).toEqual({ listed: 2, missing: [], unfinished: [], gaps: [], restarts: 0, broken: [] });
    expect(formatContinuity(c)).toEqual(['2 finished chunks, continuous (no gaps, no restarts)']);
  });
  it('finds missing numbers, time gaps, unfinished files, restarts and broken chunks', () => {
    const c = analyzeContinuity(
      [
        { file: 'chunk_00001.wav', start: 0, end: 1 },
        { file: 'chunk_00002.wav', start: 1, end: 2 },
        { file: 'chunk_00004.wav', start: 3.5, end: 4.5 },
      ],
      ['chunk_00001.wav', 'chunk_00002.wav', 'chunk_00004.wav', 'chunk_00005.wav'],
      log([
        '2026-11-22T10:00:00Z INFO echolog.ffmpeg: ffmpeg_started pid=5',
        '2026-11-22T10:00:02Z ERROR echolog.recorder: chunk_incomplete file=chunk_00002.wav seq=2 reason=short',
        '2026-11-22T10:00:03Z INFO echolog.ffmpeg: ffmpeg_started pid=6',
      ]),
    );
    expect(c).toEqual({
      listed: 3,
      missing: [3],
      unfinished: ['chunk_00005.wav'],
      gaps: [{ after: 'chunk_00002.wav', before: 'chunk_00004.wav', seconds: 1.5 }],
      restarts: 1,
      broken: ['chunk_00002.wav'],
    });
    expect(formatContinuity(c)).toContain('gap of 1.5 s between chunk_00002.wav and chunk_00004.wav');
  });
  it('lastProblems keeps the last WARNING and ERROR lines as written', () => {
    const lines = [
      '2026-11-22T10:00:00Z WARNING echolog.ffmpeg: ffmpeg_stderr line="one"',
      '2026-11-22T10:00:01Z INFO echolog.recorder: chunk_created file=chunk_00001.wav note=WARNING',
      '2026-11-22T10:00:02Z ERROR echolog.ffmpeg: ffmpeg_stderr line="two"',
      '2026-11-22T10:00:03Z WARNING echolog.ffmpeg: ffmpeg_stderr line="three"',
    ];
    expect(lastProblems(lines, 2)).toEqual([lines[2], lines[3]]);
  });
});

describe('export, as data', () => {
  it('quotes every path of the concat list literally', () => {
    expect(formatConcatList(['/r/a/chunk_00001.wav', "/r/it's here/chunk 2.wav"])).toBe(
      "ffconcat version 1.0\nfile '/r/a/chunk_00001.wav'\nfile '/r/it'\\''s here/chunk 2.wav'\n",
    );
  });
  it('copies WAV, encodes FLAC and MP3, and names the muxer of the temp file', () => {
    const tail = (format: (typeof AUDIO_FORMATS)[number]): string[] => buildExportArgs('/t/list', format, '/o/x.tmp').slice(9);
    expect(buildExportArgs('/t/list', 'wav', '/o/x.tmp').slice(0, 9)).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
    ]);
    expect(tail('wav')).toEqual(['/t/list', '-c', 'copy', '-f', 'wav', '-y', '/o/x.tmp']);
    expect(tail('flac')).toEqual(['/t/list', '-c:a', 'flac', '-f', 'flac', '-y', '/o/x.tmp']);
    expect(tail('mp3')).toEqual(['/t/list', '-c:a', 'libmp3lame', '-q:a', '2', '-f', 'mp3', '-y', '/o/x.tmp']);
  });
  it('takes the format from the extension, case-insensitively, and refuses others', () => {
    expect(formatOfFile('out.FLAC', AUDIO_FORMATS, '--audio')).toBe('flac');
    expect(formatOfFile('dir.v2/out.vtt', TRANSCRIPT_FORMATS, '--transcript')).toBe('vtt');
    expect(() => formatOfFile('out.ogg', AUDIO_FORMATS, '--audio')).toThrow(
      '--audio "out.ogg" is not allowed: the file name must end in .wav, .flac, .mp3',
    );
    expect(() => formatOfFile('out', TRANSCRIPT_FORMATS, '--transcript')).toThrow(UsageError);
  });
  it("moves each session's transcript to where its audio starts in the joined file", () => {
    const line = (seq: number, start: number, end: number, text: string) => ({
      seq,
      start,
      end,
      text,
      engine: 'pocketsphinx',
      latency_ms: 1,
    });
    const doc = mergeTranscripts(
      [
        { offsetSeconds: 0, lines: [line(1, 0.5, 1.5, 'hello'), { ...line(1, 0, 2, ''), chunk: 'transcribed' as const }] },
        { offsetSeconds: 2.004, lines: [{ ...line(1, 0.25, 1, 'world'), words: [{ word: 'world', start: 0.25, end: 1 }] }] },
      ],
      { sessionId: 'b', language: 'en', duration: 4.008 },
    );
    expect(doc).toEqual({
      session_id: 'b',
      language: 'en',
      duration: 4.008,
      text: 'hello world',
      utterances: [
        { start: 0.5, end: 1.5, text: 'hello' },
        { start: 2.254, end: 3.004, text: 'world', words: [{ word: 'world', start: 2.254, end: 3.004 }] },
      ],
    });
    expect(formatTranscript(doc, 'srt')).toBe('1\n00:00:00,500 --> 00:00:01,500\nhello\n\n2\n00:00:02,254 --> 00:00:03,004\nworld\n');
    expect(formatTranscript(doc, 'vtt')).toMatch(/^WEBVTT\n\n00:00:00\.500 --> 00:00:01\.500\nhello\n/);
    expect(formatTranscript(doc, 'txt')).toBe('hello\nworld\n');
    expect(JSON.parse(formatTranscript(doc, 'json'))).toEqual(doc);
  });
});

describe('sessions formatting', () => {
  it('sizes and clock times', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(66_755)).toBe('67 kB');
    expect(formatBytes(1_920_000)).toBe('1.9 MB');
    expect(formatBytes(null)).toBe('—');
    expect(formatClock(3723.9)).toBe('01:02:03');
  });
  it("a table with the issue's columns, numbers right-aligned, and where the next page starts", () => {
    const page = {
      sessions: [summary('20261122T100000Z-abcdef', '2026-11-22T10:00:00.123Z', { word_count: 12, chunks: 10 })],
      total: 3,
      limit: 1,
      offset: 0,
    };
    expect(formatListTable(page)).toBe(
      [
        'ID                       STATUS     STARTED               DURATION  CHUNKS  WORDS    SIZE',
        '20261122T100000Z-abcdef  completed  2026-11-22 10:00:00Z  00:00:02      10     12  1.0 kB',
        '(1-1 of 3; more with --offset 1)',
        '',
      ].join('\n'),
    );
    expect(formatListTable({ sessions: [], total: 0, limit: 50, offset: 0 })).toBe('no sessions\n');
  });
  it("JSON is seed 003's list response", () => {
    const page = { sessions: [summary('a', '2026-11-22T10:00:00Z')], total: 1, limit: 50, offset: 0 };
    expect(JSON.parse(formatListJson(page))).toEqual({
      sessions: page.sessions,
      pagination: { total: 1, limit: 50, offset: 0, returned: 1 },
    });
  });
  it('the delete question names the sessions and the space freed', () => {
    expect(
      formatDeleteQuestion([
        { id: 'a', bytes: 1500 },
        { id: 'b', bytes: 500 },
      ]),
    ).toBe('Delete 2 sessions (a, b; 2.0 kB)? [y/N] ');
  });
});

describe('session_stop level', () => {
  it('a failure is ERROR, an end echolog did not see (recovery) WARNING, a normal end INFO', () => {
    expect(
      ['ffmpeg_exit', 'device_lost', 'input_damaged', 'disk_full', 'disk_low', 'error'].map((r) => stopLevelFor(r as StopReason)),
    ).toEqual(Array(6).fill('error'));
    expect(stopLevelFor('interrupted')).toBe('warning');
    expect(['duration_reached', 'end_of_input', 'user_interrupt', 'terminated'].map((r) => stopLevelFor(r as StopReason))).toEqual(
      Array(4).fill('info'),
    );
    // Every reason has a level that says whether it failed.
    for (const reason of STOP_REASONS) expect(['info', 'warning', 'error']).toContain(stopLevelFor(reason));
  });
});

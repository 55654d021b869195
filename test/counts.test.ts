import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repairUnlistedChunks } from '../src/capture/torn-chunk.js';
import { addAudio, ChunkLedger } from '../src/recording/chunk-ledger.js';
import { ManifestStore, type SessionManifest } from '../src/store/session-manifest.js';
import { expectStopLast, readManifestSync } from './helpers/chunks.js';
import { execFileAsync, readSessionLog, runCli, sandboxPool } from './helpers/cli.js';
import { recordingLogger } from './helpers/logger.js';

/** Counts and durations that add up (issue 17 §4): samples summed exactly, whole chunks counted, one torn-chunk repair. */
const pool = sandboxPool();
afterAll(() => pool.cleanup());

/** A WAV whose header still holds ffmpeg's placeholder sizes: what a killed (or frozen, then killed) ffmpeg leaves. */
function tear(file: string): void {
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32LE(0xffffffff, 4);
  bytes.writeUInt32LE(0xffffffff, bytes.indexOf('data') + 4);
  fs.writeFileSync(file, bytes);
}

async function sine(file: string, seconds: number): Promise<void> {
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
    String(seconds),
    '-c:a',
    'pcm_s16le',
    file,
  ]);
}

describe('durations from samples', () => {
  it('2585 chunks holding 60.000 s add up to 60.000 s (a sum of ms-rounded seconds drifted to 59.4)', () => {
    const stats = { audio_duration_seconds: 0 } as { audio_duration_seconds: number; audio_frames?: number };
    const total = 60 * 48000;
    for (let i = 0; i < 2585; i++) {
      const frames = Math.floor((total * (i + 1)) / 2585) - Math.floor((total * i) / 2585);
      addAudio(stats, { sampleRate: 48000, channels: 2, bitsPerSample: 16, dataBytes: frames * 4, dataOffset: 44, riffFileBytes: 0 });
    }
    expect(stats).toEqual({ audio_frames: total, audio_duration_seconds: 60 });
  });

  it('a real session of 431 chunks of 1024 samples at 44.1 kHz: exactly the --duration', async () => {
    const box = pool.sandbox();
    const result = await runCli(
      [
        'record',
        '--input-format',
        'lavfi',
        '--input',
        'sine=sample_rate=44100',
        '--sample-rate',
        '44100',
        '--segment-time',
        '0.01',
        '--duration',
        '10',
        '--no-realtime',
        '--session-id',
        'exact',
      ],
      box,
    );
    expect(result.code, result.stderr).toBe(0);
    const dir = path.join(box.recordings, 'exact');
    const stop = expectStopLast(readSessionLog(dir), 'duration_reached');
    expect(Number(stop.fields.chunks)).toBeGreaterThan(100);
    expect(stop.fields.audio_duration_s).toBe('10');
    expect(readManifestSync(dir)?.stats).toMatchObject({ audio_duration_seconds: 10, audio_frames: 441000 });
    // One rule for a session's files (issue 17 §5): 0600 in the 0700 folder, ffmpeg's chunks and lists included.
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const modes = new Set(fs.readdirSync(dir).map((name) => fs.statSync(path.join(dir, name)).mode & 0o777));
    expect([...modes]).toEqual([0o600]);
  });
});

describe('a chunk that is not whole is not counted', () => {
  it('listed but torn: chunk_incomplete, counted apart (incomplete), and the next chunk keeps its seq', async () => {
    const dir = fs.mkdtempSync(path.join(pool.sandbox().root, 'ledger-'));
    for (const n of [1, 2, 3]) await sine(path.join(dir, `chunk_0000${n}.wav`), 1);
    tear(path.join(dir, 'chunk_00002.wav'));
    const manifest = new ManifestStore(dir, {
      session_id: 's',
      stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    } as unknown as SessionManifest);
    const logger = recordingLogger();
    const ledger = new ChunkLedger(dir, new Date(), logger, manifest, () => undefined);
    for (const n of [1, 2, 3]) ledger.add({ file: `chunk_0000${n}.wav`, start: n - 1, end: n });
    await ledger.settled();
    expect(manifest.value.stats).toMatchObject({ chunks: 2, incomplete_chunks: 1, audio_duration_seconds: 2 });
    expect(logger.lines.filter((l) => l.message === 'chunk_created').map((l) => l.fields.seq)).toEqual([1, 3]);
    expect(logger.lines.filter((l) => l.message === 'chunk_incomplete').map((l) => [l.level, l.fields.seq])).toEqual([['error', 2]]);
  });
});

describe('one torn-chunk repair, live and in recovery', () => {
  it("the repaired row follows the list's last row (no negative gap)", async () => {
    const dir = fs.mkdtempSync(path.join(pool.sandbox().root, 'repair-'));
    await sine(path.join(dir, 'chunk_00001.wav'), 5);
    await sine(path.join(dir, 'chunk_00002.wav'), 1.365);
    tear(path.join(dir, 'chunk_00002.wav'));
    fs.writeFileSync(path.join(dir, 'segments.csv'), 'chunk_00001.wav,0.000000,5.000000\n');
    const logger = recordingLogger();
    const rows = await repairUnlistedChunks(dir, { from: 1, listed: new Set(['chunk_00001.wav']), listName: 'segments.csv', logger });
    expect(rows).toEqual([{ file: 'chunk_00002.wav', start: 5, end: 6.365 }]);
    expect(fs.readFileSync(path.join(dir, 'segments.csv'), 'utf8')).toBe(
      'chunk_00001.wav,0.000000,5.000000\nchunk_00002.wav,5.000000,6.365000\n',
    );
    expect(logger.lines.map((l) => l.message)).toEqual(['chunk_repaired']);
  });

  it('recovery after echolog died with its ffmpeg mid-chunk repairs, counts and exports that chunk; sessions show has no negative gap', async () => {
    const box = pool.sandbox();
    expect(
      (
        await runCli(
          [
            'record',
            '--input-format',
            'lavfi',
            '--input',
            'sine=sample_rate=16000',
            '--duration',
            '4',
            '--segment-time',
            '2',
            '--no-realtime',
            '--session-id',
            'dead',
          ],
          box,
        )
      ).code,
    ).toBe(0);
    const dir = path.join(box.recordings, 'dead');
    // The state a kill leaves when ffmpeg was frozen mid-chunk: a third chunk with placeholder sizes,
    // no row for it, no session_stop, session.json still recording (a dead pid).
    await sine(path.join(dir, 'chunk_00003.wav'), 1.365);
    tear(path.join(dir, 'chunk_00003.wav'));
    const deadPid = spawnSync('true').pid;
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      path.join(dir, 'session.json'),
      JSON.stringify({ ...manifest, status: 'recording', pid: deadPid, ffmpeg_pid: null, stop_reason: null, ended_at: null }),
    );
    const logText = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
    fs.writeFileSync(
      path.join(dir, 'session.log'),
      logText
        .split('\n')
        .filter((line) => !line.includes(' session_stop '))
        .join('\n'),
    );
    fs.writeFileSync(path.join(box.recordings, '.active-session.json'), JSON.stringify({ session_id: 'dead', pid: deadPid }));

    const status = await runCli(['status'], box);
    expect(status.code, status.stderr).toBe(0);
    const log = readSessionLog(dir);
    expect(log.find((l) => l.message === 'chunk_repaired')?.fields.file).toBe('chunk_00003.wav');
    expect(log.find((l) => l.message === 'chunk_created' && l.fields.file === 'chunk_00003.wav')?.fields).toMatchObject({
      repaired: 'true',
      recovered: 'true',
      seq: '3',
    });
    const stop = expectStopLast(log, 'interrupted');
    expect(stop.fields).toMatchObject({ chunks: '3', recovered_chunks: '1', audio_duration_s: '5.365' });
    expect(fs.readFileSync(path.join(dir, 'segments.csv'), 'utf8').trim().split('\n').at(-1)).toBe('chunk_00003.wav,4.000000,5.365000');
    const show = await runCli(['sessions', 'show', 'dead'], box);
    expect(show.stdout).not.toMatch(/gap of -/);
    const exported = path.join(box.root, 'dead.wav');
    const exportRun = await runCli(['sessions', 'export', 'dead', '--audio', exported], box);
    expect(exportRun.code, exportRun.stderr).toBe(0);
    const probe = await execFileAsync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', exported]);
    expect(Number(probe.stdout)).toBeCloseTo(5.365, 2);
  });
});

describe('session.json writes', () => {
  it('a chunk count is written whole but held back to one write a second; a change of state writes at once; flush releases', async () => {
    const dir = fs.mkdtempSync(path.join(pool.sandbox().root, 'store-'));
    let now = 0;
    const store = new ManifestStore(
      dir,
      {
        session_id: 's',
        status: 'recording',
        stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
      } as unknown as SessionManifest,
      undefined,
      () => now,
    );
    const onDisk = () => JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as SessionManifest;
    await store.update((m) => (m.stats.chunks = 1), 'atomic');
    expect(onDisk().stats.chunks).toBe(1);
    now = 100;
    let written = false;
    const held = store.update((m) => (m.stats.chunks = 2), 'atomic').then(() => (written = true));
    store.update((m) => (m.stats.chunks = 3), 'atomic');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([written, onDisk().stats.chunks]).toEqual([false, 1]);
    // A durable change does not wait, and takes the held counts with it.
    await store.update((m) => (m.status = 'completed'));
    await held;
    expect(onDisk()).toMatchObject({ status: 'completed', stats: { chunks: 3 } });
    now = 200;
    const again = store.update((m) => (m.stats.chunks = 4), 'atomic');
    store.flush();
    await again;
    expect(onDisk().stats.chunks).toBe(4);
  });
});

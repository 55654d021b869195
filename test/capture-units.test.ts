import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskVerdict, freeBytes } from '../src/capture/disk-guard.js';
import { backoffMs, decideAfterRun, INITIAL_SUPERVISION, type SupervisionState } from '../src/capture/restart-policy.js';
import { classifyRunEnd, type RunFacts } from '../src/capture/run-end.js';
import { SilenceAlarm } from '../src/capture/silence-alarm.js';
import { stallLevel } from '../src/capture/stall.js';
import { fixTornChunk, nextChunkNumber, planTornChunkFix } from '../src/capture/torn-chunk.js';
import { segmentListName, segmentListRun } from '../src/recorder/ffmpeg-args.js';
import { FfmpegProgress } from '../src/recorder/ffmpeg-progress.js';
import { permanentStartErrors } from '../src/capture/start-failure.js';
import { readSessionSegmentLists } from '../src/recorder/segment-list-watcher.js';
import { parseWavHeader, wavSizeMismatch } from '../src/recorder/wav-header.js';
import { runArgs } from '../src/capture/recording-plan.js';
import { ManifestStore, parseManifest, type SessionManifest } from '../src/store/session-manifest.js';
import { ChunkLedger } from '../src/recording/chunk-ledger.js';
import { ChunkMonitor } from '../src/capture/chunk-monitor.js';
import type { Chunk } from '../src/recorder/chunk.js';
import { recordingLogger } from './helpers/logger.js';
import { gatherManifestEvidence } from '../src/store/manifest-rebuild.js';
import { formatLogLine } from '../src/logging/line-format.js';
import { execFileAsync } from './helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-capture-units-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('classifyRunEnd', () => {
  const noReport = { ended: false, outSeconds: undefined, inputSeconds: undefined };
  const facts = (over: Partial<RunFacts>): RunFacts => ({
    stopRequested: false,
    stalled: false,
    exit: { code: 0, signal: null },
    liveInput: false,
    chunks: 3,
    wantedSeconds: undefined,
    capturedSeconds: 3,
    progress: noReport,
    errorLines: 0,
    permanentFailure: false,
    sessionHadAudio: false,
    ...over,
  });
  it('asked to stop, whatever the exit', () =>
    expect(classifyRunEnd(facts({ stopRequested: true, exit: { code: 255, signal: null } }))).toBe('stopped'));
  it('duration reached', () => expect(classifyRunEnd(facts({ wantedSeconds: 3 }))).toBe('duration_reached'));
  it('a file shorter than --duration ends with end_of_input', () =>
    expect(classifyRunEnd(facts({ wantedSeconds: 10 }))).toBe('end_of_input'));
  it('a file read to its end', () => expect(classifyRunEnd(facts({}))).toBe('end_of_input'));
  it('kill -9 is a crash', () => expect(classifyRunEnd(facts({ exit: { code: null, signal: 'SIGKILL' } }))).toBe('crashed'));
  it('a non-zero exit is a crash', () => expect(classifyRunEnd(facts({ exit: { code: 1, signal: null } }))).toBe('crashed'));
  it('exit 0 without a chunk is no audio, never success', () =>
    expect(classifyRunEnd(facts({ chunks: 0, capturedSeconds: 0 }))).toBe('no_audio'));
  it('a live input ending by itself is a lost device', () => expect(classifyRunEnd(facts({ liveInput: true }))).toBe('device_lost'));
  it('a live input that cannot be opened again is still lost', () =>
    expect(classifyRunEnd(facts({ liveInput: true, chunks: 0, exit: { code: 1, signal: null } }))).toBe('device_lost'));
  it('a live input that crashed after audio is a crash', () =>
    expect(classifyRunEnd(facts({ liveInput: true, exit: { code: 1, signal: null } }))).toBe('crashed'));
  it('killed after all the audio asked for was finished: duration reached', () =>
    expect(classifyRunEnd(facts({ wantedSeconds: 3, exit: { code: null, signal: 'SIGKILL' } }))).toBe('duration_reached'));
  it('a device whose samples fall short of -t, but ffmpeg reports it reached -t: duration reached, not a lost device', () =>
    expect(
      classifyRunEnd(
        facts({
          liveInput: true,
          wantedSeconds: 10,
          capturedSeconds: 9.3,
          chunks: 2,
          progress: { ended: true, outSeconds: 10, inputSeconds: undefined },
        }),
      ),
    ).toBe('duration_reached'));
  it('a device that ended early by its own report is still lost', () =>
    expect(
      classifyRunEnd(
        facts({
          liveInput: true,
          wantedSeconds: 10,
          capturedSeconds: 4,
          chunks: 1,
          progress: { ended: true, outSeconds: 4.2, inputSeconds: undefined },
        }),
      ),
    ).toBe('device_lost'));
  it('an end report without exit 0 is no duration reached', () =>
    expect(
      classifyRunEnd(
        facts({
          liveInput: true,
          wantedSeconds: 10,
          capturedSeconds: 9.3,
          exit: { code: 1, signal: null },
          progress: { ended: true, outSeconds: 10, inputSeconds: undefined },
        }),
      ),
    ).toBe('crashed'));
  it('a file that ends early with error lines is damaged, not a normal end', () => {
    const early = { ended: true, outSeconds: 46.9, inputSeconds: 900 };
    expect(classifyRunEnd(facts({ wantedSeconds: 60, capturedSeconds: 46.9, errorLines: 12, progress: early }))).toBe('input_damaged');
    expect(classifyRunEnd(facts({ errorLines: 12, progress: early }))).toBe('input_damaged');
    // Errors on the way, but read to its declared end: a normal end; and no errors: a normal end.
    expect(classifyRunEnd(facts({ errorLines: 12, progress: { ended: true, outSeconds: 899.7, inputSeconds: 900 } }))).toBe('end_of_input');
    expect(classifyRunEnd(facts({ errorLines: 0, progress: early }))).toBe('end_of_input');
  });
  it('a first start that no retry can fix; the same error after audio was captured is not', () => {
    expect(classifyRunEnd(facts({ chunks: 0, capturedSeconds: 0, exit: { code: 1, signal: null }, permanentFailure: true }))).toBe(
      'unrecoverable',
    );
    expect(
      classifyRunEnd(
        facts({
          liveInput: true,
          chunks: 0,
          capturedSeconds: 0,
          exit: { code: 1, signal: null },
          permanentFailure: true,
          sessionHadAudio: true,
        }),
      ),
    ).toBe('device_lost');
  });
  it('a stall stopped by echolog', () =>
    expect(classifyRunEnd(facts({ stalled: true, exit: { code: 255, signal: null } }))).toBe('stalled'));
});

describe('decideAfterRun', () => {
  const policy = { maxRestarts: 2, reconnectTimeoutMs: 10_000 };
  it('finishes on success and on request', () => {
    for (const end of ['stopped', 'duration_reached', 'end_of_input'] as const)
      expect(decideAfterRun(INITIAL_SUPERVISION, end, 1, 0, policy)).toEqual({ action: 'finish' });
  });
  it('restarts a crash with backoff, then gives up after max_restarts in a row', () => {
    let state: SupervisionState = INITIAL_SUPERVISION;
    const delays: number[] = [];
    for (;;) {
      const decision = decideAfterRun(state, 'crashed', 0, 0, policy);
      if (decision.action !== 'restart') {
        expect(decision).toMatchObject({ action: 'give_up', reason: 'ffmpeg_exit', state: { restarts: 2 } });
        break;
      }
      delays.push(decision.delayMs);
      state = decision.state;
    }
    expect(delays).toEqual([200, 400]);
  });
  it('a run that finished a chunk resets the count', () => {
    const state = { attempts: 2, restarts: 7, deviceLostAtMs: undefined, hadAudio: true };
    expect(decideAfterRun(state, 'crashed', 4, 0, policy)).toMatchObject({ action: 'restart', state: { attempts: 1, restarts: 8 } });
  });
  it('max_restarts 0 never restarts', () =>
    expect(decideAfterRun(INITIAL_SUPERVISION, 'no_audio', 0, 0, { ...policy, maxRestarts: 0 })).toMatchObject({
      action: 'give_up',
      reason: 'ffmpeg_exit',
    }));
  it('a lost device is retried past max_restarts until reconnect_timeout, from when it was lost', () => {
    const lost = decideAfterRun(INITIAL_SUPERVISION, 'device_lost', 5, 1000, policy);
    expect(lost).toMatchObject({ action: 'restart', state: { deviceLostAtMs: 1000 } });
    let state = (lost as { state: SupervisionState }).state;
    for (let t = 2000; t < 11_000; t += 1000) {
      const again = decideAfterRun(state, 'device_lost', 0, t, policy);
      expect(again.action).toBe('restart');
      expect((again as { delayMs: number }).delayMs).toBeLessThanOrEqual(1000);
      state = (again as { state: SupervisionState }).state;
    }
    expect(decideAfterRun(state, 'device_lost', 0, 11_000, policy)).toMatchObject({ action: 'give_up', reason: 'device_lost' });
  });
  it('a device back (a run with chunks that then crashed) ends the episode', () => {
    const state = { attempts: 3, restarts: 3, deviceLostAtMs: 0, hadAudio: true };
    expect(decideAfterRun(state, 'crashed', 2, 60_000, policy)).toMatchObject({
      action: 'restart',
      state: { deviceLostAtMs: undefined, attempts: 1 },
    });
  });
  it('a device that never gave audio (a wrong name) is no lost device: its failures count against max_restarts', () => {
    const first = decideAfterRun(INITIAL_SUPERVISION, 'device_lost', 0, 0, policy);
    expect(first).toMatchObject({ action: 'restart', state: { deviceLostAtMs: undefined, attempts: 1 } });
    const second = decideAfterRun((first as { state: SupervisionState }).state, 'device_lost', 0, 0, policy);
    expect(decideAfterRun((second as { state: SupervisionState }).state, 'device_lost', 0, 0, policy)).toMatchObject({
      action: 'give_up',
      reason: 'ffmpeg_exit',
    });
  });
  it('gives up at once on what no retry fixes', () => {
    expect(decideAfterRun(INITIAL_SUPERVISION, 'unrecoverable', 0, 0, policy)).toMatchObject({ action: 'give_up', reason: 'ffmpeg_exit' });
    expect(decideAfterRun(INITIAL_SUPERVISION, 'input_damaged', 3, 0, policy)).toMatchObject({
      action: 'give_up',
      reason: 'input_damaged',
    });
  });
  it('backoff doubles to 5 s', () => expect([1, 2, 3, 4, 5, 6, 9].map(backoffMs)).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]));
});

describe('stallLevel', () => {
  it('segment_time × 2 + 5 s without a chunk is a stall; twice that, dead', () => {
    expect(stallLevel(0, 6999, 1)).toBe('ok');
    expect(stallLevel(0, 7000, 1)).toBe('stalled');
    expect(stallLevel(0, 14_000, 1)).toBe('dead');
    expect(stallLevel(0, 24_999, 10)).toBe('ok');
  });
});

describe('SilenceAlarm', () => {
  it('one alarm per silent stretch, after alarm seconds; sound ends the stretch', () => {
    const alarm = new SilenceAlarm(3);
    expect(alarm.observe(-Infinity, 1)).toBeUndefined();
    expect(alarm.observe(-90, 1)).toBeUndefined();
    expect(alarm.observe(-Infinity, 1)).toEqual({ kind: 'silent', seconds: 3 });
    expect(alarm.observe(-Infinity, 1)).toBeUndefined();
    expect(alarm.observe(-20, 1)).toEqual({ kind: 'sound_returned', silentSeconds: 4 });
    expect(alarm.observe(-Infinity, 2)).toBeUndefined();
    expect(alarm.observe(-Infinity, 2)).toEqual({ kind: 'silent', seconds: 4 });
  });
  it('a quiet room (-50 dBFS) is not silence', () => {
    const alarm = new SilenceAlarm(1);
    expect(alarm.observe(-50, 5)).toBeUndefined();
  });
  it('0 turns it off', () => expect(new SilenceAlarm(0).observe(-Infinity, 100)).toBeUndefined());
});

describe('diskVerdict and freeBytes', () => {
  const MiB = 1024 * 1024;
  it('refuses below min, warns below 4×, off at 0', () => {
    expect(diskVerdict(199 * MiB, 200)).toBe('too_low');
    expect(diskVerdict(200 * MiB, 200)).toBe('low');
    expect(diskVerdict(799 * MiB, 200)).toBe('low');
    expect(diskVerdict(800 * MiB, 200)).toBe('ok');
    expect(diskVerdict(0, 0)).toBe('off');
  });
  it('asks the nearest existing parent of a folder not yet created', async () => {
    const free = await freeBytes(path.join(tmp, 'not', 'yet'));
    expect(free).toBeGreaterThan(0);
  });
});

describe('torn chunks', () => {
  const header = (dataOffset = 44) => ({
    sampleRate: 16000,
    channels: 1,
    bitsPerSample: 16,
    dataBytes: 0xffffffff,
    dataOffset,
    riffFileBytes: 0xffffffff + 8,
  });
  it('repairs from the whole samples present', () =>
    expect(planTornChunkFix(header(), 44 + 3201)).toEqual({ action: 'repair', dataBytes: 3200, fileBytes: 3244, durationSeconds: 0.1 }));
  it('sets aside a chunk with no audio, or no header', () => {
    expect(planTornChunkFix(header(), 44)).toMatchObject({ action: 'set_aside' });
    expect(planTornChunkFix(undefined, 0)).toMatchObject({ action: 'set_aside' });
  });

  it('a real ffmpeg WAV with its header sizes torn is repaired to agree with its data', async () => {
    const file = path.join(tmp, 'chunk_00007.wav');
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
    const bytes = fs.readFileSync(file);
    const wav = parseWavHeader(bytes);
    // What a killed ffmpeg leaves: placeholder sizes, and a last sample cut in half.
    bytes.writeUInt32LE(0xffffffff, 4);
    bytes.writeUInt32LE(0xffffffff, wav.dataOffset - 4);
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from([1])]));
    expect(wavSizeMismatch(parseWavHeader(fs.readFileSync(file)), fs.statSync(file).size)).toBeDefined();
    expect(await fixTornChunk(file)).toMatchObject({ action: 'repair', durationSeconds: 0.5 });
    const repaired = fs.readFileSync(file);
    expect(wavSizeMismatch(parseWavHeader(repaired), repaired.length)).toBeUndefined();
    expect(repaired.equals(fs.readFileSync(file))).toBe(true);
  });

  it('an empty chunk is renamed aside, and the next number skips it', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'aside-'));
    fs.writeFileSync(path.join(dir, 'chunk_00002.wav'), '');
    expect(await fixTornChunk(path.join(dir, 'chunk_00002.wav'))).toMatchObject({ action: 'set_aside' });
    expect(fs.readdirSync(dir)).toEqual(['chunk_00002.wav.torn']);
    expect(await nextChunkNumber(dir)).toBe(3);
  });
});

describe('segment lists per ffmpeg run', () => {
  it('names and recognises them', () => {
    expect([1, 2, 12].map(segmentListName)).toEqual(['segments.csv', 'segments.2.csv', 'segments.12.csv']);
    expect(['segments.csv', 'segments.3.csv', 'segments.0.csv', 'segments.x.csv', 'other.csv'].map(segmentListRun)).toEqual([
      1,
      3,
      undefined,
      undefined,
      undefined,
    ]);
  });
  it("reads a session's lists run after run", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'lists-'));
    fs.writeFileSync(path.join(dir, 'segments.csv'), 'chunk_00001.wav,0,1\n');
    fs.writeFileSync(path.join(dir, 'segments.10.csv'), 'chunk_00009.wav,0,1\n');
    fs.writeFileSync(path.join(dir, 'segments.2.csv'), 'chunk_00003.wav,0,1\nchunk_00004.wav,1,2\n');
    expect((await readSessionSegmentLists(dir)).map((r) => r.file)).toEqual([
      'chunk_00001.wav',
      'chunk_00003.wav',
      'chunk_00004.wav',
      'chunk_00009.wav',
    ]);
  });
  it('a restarted run continues the numbering, writes its own list and asks only for the audio still wanted', () => {
    const capture = {
      input: { format: 'lavfi', input: 'sine' },
      realtime: true,
      sampleRate: 16000,
      channels: 1,
      segmentTime: 1,
      durationSeconds: 10,
      segmentListPath: '/s/segments.csv',
      chunkPattern: '/s/chunk_%05d.wav',
      segmentStartNumber: 1,
    };
    const argv = runArgs({ capture, sessionDir: '/s' }, { run: 3, startNumber: 8, durationSeconds: 4.5 });
    expect(argv[argv.indexOf('-segment_start_number') + 1]).toBe('8');
    expect(argv[argv.indexOf('-segment_list') + 1]).toBe('/s/segments.3.csv');
    expect(argv[argv.indexOf('-t') + 1]).toBe('4.5');
  });
});

describe('a restarted session read back (recovery, rebuild, transcribe)', () => {
  it("rows of every run in order, and each logged chunk's wall-clock offset", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'evidence-'));
    fs.writeFileSync(path.join(dir, 'segments.csv'), 'chunk_00001.wav,0,1\n');
    fs.writeFileSync(path.join(dir, 'segments.2.csv'), 'chunk_00003.wav,0,1\n');
    const line = (file: string, offset: number) =>
      formatLogLine({
        time: new Date(0),
        level: 'INFO',
        logger: 'echolog.recorder',
        message: 'chunk_created',
        fields: { file, seq: 1, offset_s: offset, duration_s: 1 },
      });
    fs.writeFileSync(path.join(dir, 'session.log'), `${line('chunk_00001.wav', 0.02)}\n${line('chunk_00003.wav', 3.7)}\n`);
    const evidence = await gatherManifestEvidence(dir);
    expect(evidence.rows.map((r) => r.file)).toEqual(['chunk_00001.wav', 'chunk_00003.wav']);
    expect(evidence.logged.get('chunk_00003.wav')).toEqual({ durationSeconds: 1, offsetSeconds: 3.7 });
  });
});

describe('clock drift', () => {
  it('audio a whole second behind the wall clock on two chunks in a row: one WARNING clock_drift', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'drift-'));
    for (const n of [1, 2, 3])
      await execFileAsync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=sample_rate=16000',
        '-t',
        '1',
        '-c:a',
        'pcm_s16le',
        path.join(dir, `chunk_0000${n}.wav`),
      ]);
    const manifest = new ManifestStore(dir, {
      session_id: 's',
      stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    } as unknown as SessionManifest);
    const logger = recordingLogger();
    const sessionStart = new Date(Date.now() - 10_000);
    const ledger = new ChunkLedger(dir, sessionStart, logger, manifest, () => undefined, true);
    // The run began 10 s ago, but only 3 s of audio came: samples were lost (a stalled device).
    ledger.beginRun(sessionStart);
    for (const n of [1, 2, 3]) ledger.add({ file: `chunk_0000${n}.wav`, start: n - 1, end: n });
    await ledger.settled();
    const drift = logger.lines.filter((l) => l.message === 'clock_drift');
    expect(drift).toEqual([
      {
        level: 'warning',
        message: 'clock_drift',
        fields: expect.objectContaining({ seq: 2, detail: expect.stringMatching(/wall clock ran ahead/) }),
      },
    ]);
    // 8 s late less the 1 s level window, less the 3 s a device may take to start delivering.
    expect(Number(drift[0]!.fields.drift_s)).toBeGreaterThan(3.5);
    // Placed on the run's clock: chunk 2 starts 1 s after the anchor, whatever the wall clock says now.
    expect(logger.lines.filter((l) => l.message === 'chunk_created').map((l) => l.fields.offset_s)).toEqual([0, 1, 2]);
  });
});

describe('ChunkLedger.beginRun', () => {
  it("returns where the run's audio starts in session time: the offset its first chunk gets (the live output is placed there too)", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'runs-'));
    for (const n of [1, 2])
      await execFileAsync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=sample_rate=16000',
        '-t',
        '1',
        '-c:a',
        'pcm_s16le',
        path.join(dir, `chunk_0000${n}.wav`),
      ]);
    const manifest = new ManifestStore(dir, {
      session_id: 's',
      stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    } as unknown as SessionManifest);
    const logger = recordingLogger();
    const sessionStart = new Date(Date.UTC(2026, 0, 1));
    const ledger = new ChunkLedger(dir, sessionStart, logger, manifest, () => undefined);
    expect(ledger.beginRun(new Date(sessionStart.getTime() + 20))).toBe(0.02);
    ledger.add({ file: 'chunk_00001.wav', start: 0, end: 1 });
    // A restart 2.48 s after run 1's audio ended.
    expect(ledger.beginRun(new Date(sessionStart.getTime() + 3500))).toBe(3.5);
    ledger.add({ file: 'chunk_00002.wav', start: 0, end: 1 });
    await ledger.settled();
    expect(logger.lines.filter((l) => l.message === 'chunk_created').map((l) => l.fields.offset_s)).toEqual([0.02, 3.5]);
  });
});

describe('chunk ledger and session.json', () => {
  const twoChunks = async (): Promise<string> => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ledger-'));
    for (const n of [1, 2])
      await execFileAsync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=sample_rate=16000',
        '-t',
        '1',
        '-c:a',
        'pcm_s16le',
        path.join(dir, `chunk_0000${n}.wav`),
      ]);
    return dir;
  };
  /** A stand-in for ManifestStore whose writes finish when the test says: an fsync stuck behind other processes' writes. */
  const heldManifest = (write: () => Promise<void>) => {
    const value = {
      session_id: 's',
      stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    } as unknown as SessionManifest;
    return {
      value,
      update: (change: (m: SessionManifest) => void) => (change(value), write()),
      flush: () => undefined,
    } as unknown as ManifestStore;
  };
  const chunkLines = (logger: ReturnType<typeof recordingLogger>) => logger.lines.filter((l) => l.message === 'chunk_created');

  it('logs the next chunk while the write counting the last one is still on its way; settled() waits for the write', async () => {
    const dir = await twoChunks();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const manifest = heldManifest(() => held);
    const logger = recordingLogger();
    const ledger = new ChunkLedger(dir, new Date(), logger, manifest, () => undefined);
    let settled = false;
    for (const n of [1, 2]) ledger.add({ file: `chunk_0000${n}.wav`, start: n - 1, end: n });
    void ledger.settled().then(() => (settled = true));
    await expect.poll(() => chunkLines(logger).length, { timeout: 5000 }).toBe(2);
    expect(manifest.value.stats.chunks).toBe(2);
    expect(settled).toBe(false);
    release();
    await ledger.settled();
    expect(settled).toBe(true);
  });

  it('a failed session.json write is logged and holds back no chunk', async () => {
    const dir = await twoChunks();
    const logger = recordingLogger();
    const ledger = new ChunkLedger(
      dir,
      new Date(),
      logger,
      heldManifest(() => Promise.reject(new Error('EIO: i/o error, fsync'))),
      () => undefined,
    );
    for (const n of [1, 2]) ledger.add({ file: `chunk_0000${n}.wav`, start: n - 1, end: n });
    await ledger.settled();
    expect(chunkLines(logger).map((l) => l.fields.seq)).toEqual([1, 2]);
    expect(logger.lines.filter((l) => l.message === 'chunk_ledger_error').map((l) => l.fields)).toEqual([
      { file: 'chunk_00001.wav', reason: 'EIO: i/o error, fsync' },
      { file: 'chunk_00002.wav', reason: 'EIO: i/o error, fsync' },
    ]);
  });
});

describe("ffmpeg's progress report and what no retry can fix", () => {
  const fixture = (name: string) =>
    fs
      .readFileSync(path.join(import.meta.dirname, 'fixtures', 'ffmpeg-stderr', name), 'utf8')
      .split('\n')
      .filter(Boolean);
  it('reads progress=end and out_time_us, takes the progress lines out of the log, and the input length from its dump', () => {
    const progress = new FfmpegProgress();
    const lines = [
      '[info]   Duration: 00:15:00.03, start: 0.025057, bitrate: 64 kb/s',
      'out_time_us=48875',
      'progress=continue',
      '[info] size=  75kB time=00:00:03.00',
      'total_size=77002',
      'out_time_us=3000000',
      'out_time=00:00:03.000000',
      'speed= 604x',
      'progress=end',
    ];
    expect(lines.map((line) => progress.line(line))).toEqual([false, true, true, false, true, true, true, true, true]);
    expect(progress.value).toEqual({ ended: true, outSeconds: 3, inputSeconds: 900.03 });
    // A lavfi graph or a device has no length; a tagged log line is never a progress line.
    const device = new FfmpegProgress();
    expect(device.line('[info]   Duration: N/A, start: 0.000000, bitrate: 768 kb/s')).toBe(false);
    expect(device.line('[info] frame=1')).toBe(false);
    expect(device.value).toEqual({ ended: false, outSeconds: undefined, inputSeconds: undefined });
  });
  it('finds the permanent reasons in captured ffmpeg output, and not in a transient one', () => {
    for (const name of [
      'no-such-filter.txt',
      'invalid-data.txt',
      'alsa-no-device.txt',
      'missing-file.txt',
      'unknown-format.txt',
      'permission-denied.txt',
    ])
      expect(permanentStartErrors(fixture(name)), name).not.toEqual([]);
    expect(permanentStartErrors(['[error] /tmp/x: Is a directory'])).toEqual(['[error] /tmp/x: Is a directory']);
    for (const name of ['pulse-no-server.txt', 'healthy-capture.txt', 'wav-input.txt'])
      expect(permanentStartErrors(fixture(name)), name).toEqual([]);
    expect(permanentStartErrors(['[error] fake ffmpeg (a test stand-in): cannot open the input'])).toEqual([]);
  });
});

describe('session.json capture status from disk', () => {
  const base = {
    session_id: 's1',
    status: 'recording',
    pid: 4242,
    ffmpeg_pid: null,
    started_at: '2026-01-01T00:00:00Z',
    log_level: 'info',
    sample_rate: 16000,
    channels: 1,
    stats: { chunks: 0, audio_duration_seconds: 0 },
  };
  it('keeps a valid one', () => {
    const capture = { restarts: 2, stalled_since: null, last_level_db: '-inf' };
    expect((parseManifest({ ...base, capture }) as { capture?: unknown }).capture).toEqual(capture);
  });
  it('drops a malformed one without refusing the manifest', () => {
    const parsed = parseManifest({ ...base, capture: { restarts: -1, stalled_since: 3 } });
    expect(typeof parsed).toBe('object');
    expect((parsed as { capture?: unknown }).capture).toBeUndefined();
  });
});

describe('ChunkMonitor', () => {
  it("a chunk's level goes to session.json without holding the next chunk for the held-back write", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'monitor-'));
    // A clock that never moves: every atomic write after the first is held back a full second.
    const manifest = new ManifestStore(
      dir,
      { session_id: 's', stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 } } as unknown as SessionManifest,
      undefined,
      () => 0,
    );
    const monitor = new ChunkMonitor({
      sessionDir: dir,
      logger: recordingLogger(),
      manifest,
      silenceAlarmSeconds: 0,
      minFreeMb: 0,
      warn: () => undefined,
      onDiskLow: () => undefined,
    });
    await manifest.update(() => undefined, 'atomic'); // session.json is there, and the next atomic write waits
    const levelOnDisk = () =>
      (JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as SessionManifest).capture?.last_level_db;
    // Speech: every chunk has its own level, so every chunk changes session.json.
    for (const [seq, db] of [-20, -30, -25].entries()) {
      monitor.onLevel(db, 5);
      monitor.onChunk({ seq: seq + 1, sizeBytes: 320_000 } as Chunk);
    }
    await monitor.settled();
    // Settled while the second write is still held: waiting for it held each chunk a second.
    expect(manifest.value.capture?.last_level_db).toBe('-25.0');
    expect(levelOnDisk()).toBeUndefined();
    manifest.flush();
    await manifest.update(() => undefined, 'atomic');
    expect(levelOnDisk()).toBe('-25.0');
  });
});

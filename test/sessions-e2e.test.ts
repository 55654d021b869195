import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWavHeader } from '../src/recorder/wav-header.js';
import { readChunks } from '../src/store/session-chunks.js';
import { checkJoinedWav } from '../src/sessions/session-export.js';
import { chunkFiles, processesMatching, readManifestSync } from './helpers/chunks.js';
import { execFileAsync, exitOf, makeSandbox, readSessionLog, runCli, startCli, waitFor, BIN, type Sandbox } from './helpers/cli.js';

// Short real recordings: 2 s of a 440 Hz sine in 1 s chunks, as fast as ffmpeg goes.
const RECORD = [
  'record',
  '-q',
  '--input-format',
  'lavfi',
  '--input',
  'sine=frequency=440',
  '--duration',
  '2',
  '--segment-time',
  '1',
  '--no-realtime',
];

/** A session.json as `record` writes it, for sessions that need no audio (filters, paging, clean-up). */
function writeSession(recordings: string, id: string, startedAt: string, over: Record<string, unknown> = {}): string {
  const dir = path.join(recordings, id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const manifest = {
    session_id: id,
    status: 'completed',
    pid: 4242,
    pid_start_ticks: null,
    ffmpeg_pid: null,
    ffmpeg_start_ticks: null,
    started_at: startedAt,
    ended_at: startedAt,
    stop_reason: 'duration_reached',
    error: null,
    log_path: path.join(dir, 'session.log'),
    log_level: 'info',
    device: 'sine',
    input_format: 'lavfi',
    sample_rate: 16000,
    channels: 1,
    segment_time: 1,
    stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
    ...over,
  };
  fs.writeFileSync(path.join(dir, 'session.json'), `${JSON.stringify(manifest)}\n`);
  return dir;
}

interface ListJson {
  sessions: Array<{
    id: string;
    status: string;
    started_at: string;
    chunks: number;
    resumed_from: string | null;
    bytes_on_disk: number | null;
    language: string | null;
  }>;
  pagination: { total: number; limit: number; offset: number; returned: number };
}

async function listJson(box: Sandbox, ...args: string[]): Promise<ListJson> {
  const result = await runCli(['sessions', 'list', '--json', ...args], box);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ListJson;
}

/** Samples in a media file's first stream, as ffprobe counts them (duration_ts in 1/sample_rate units). */
async function probeSamples(file: string): Promise<{ samples: number; seconds: number; sampleRate: number }> {
  const { stdout } = await execFileAsync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'a:0',
    '-show_entries',
    'stream=duration_ts,duration,sample_rate,time_base',
    '-of',
    'json',
    file,
  ]);
  const stream = (JSON.parse(stdout) as { streams: Array<{ duration_ts: number; duration: string; sample_rate: string }> }).streams[0]!;
  return { samples: stream.duration_ts, seconds: Number(stream.duration), sampleRate: Number(stream.sample_rate) };
}

/** Samples of the chunks on disk, from their WAV headers (16-bit). */
function chunkSamples(dirs: string[]): number {
  return dirs
    .flatMap((dir) => chunkFiles(dir).map((f) => parseWavHeader(fs.readFileSync(path.join(dir, f)))))
    .reduce((sum, wav) => sum + wav.dataBytes / (wav.channels * 2), 0);
}

describe('a resume chain recorded for real: list, show, export', () => {
  const box = makeSandbox();
  afterAll(() => box.cleanup());
  const dirs = (...ids: string[]): string[] => ids.map((id) => path.join(box.recordings, id));

  beforeAll(async () => {
    expect((await runCli([...RECORD, '--session-id', 'a1'], box)).code).toBe(0);
    const b = await runCli([...RECORD, '--session-id', 'b1', '--resume', 'a1'], box);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect((await runCli([...RECORD, '--session-id', 'c1', '--resume', 'b1'], box)).code).toBe(0);
  });

  it('record --resume links the new session in session.json and in session_start', () => {
    expect(readManifestSync(path.join(box.recordings, 'b1'))).toMatchObject({ resumed_from: 'a1', status: 'completed' });
    const start = readSessionLog(path.join(box.recordings, 'b1')).find((l) => l.message === 'session_start')!;
    expect(start.fields.resumed_from).toBe('a1');
    expect(readSessionLog(path.join(box.recordings, 'a1')).find((l) => l.message === 'session_start')!.fields.resumed_from).toBeUndefined();
    const manifest = JSON.parse(fs.readFileSync(path.join(box.recordings, 'c1', 'session.json'), 'utf8')) as Record<string, unknown> & {
      stats: Record<string, number>;
    };
    expect(manifest).toMatchObject({ resumed_from: 'b1', language: 'en', engine: null, model: null });
    // From the stop on: the whole folder, what deleting it frees.
    const files = fs.readdirSync(path.join(box.recordings, 'c1')).map((f) => fs.statSync(path.join(box.recordings, 'c1', f)).size);
    expect(manifest.stats.bytes_on_disk).toBeGreaterThan(chunkSamples(dirs('c1')) * 2);
    expect(manifest.stats.bytes_on_disk).toBeLessThanOrEqual(files.reduce((a, b) => a + b, 0));
  });

  it("session.json names the engine and model that transcribed (seed 003's model); list and show say them", async () => {
    const result = await runCli([...RECORD, '--session-id', 'ps1', '--engine', 'pocketsphinx'], box);
    expect(result.code).toBe(0);
    expect(readManifestSync(path.join(box.recordings, 'ps1'))).toMatchObject({ engine: 'pocketsphinx', model: 'en-us', language: 'en' });
    expect((await listJson(box, '--limit', '1')).sessions[0]).toMatchObject({ id: 'ps1', engine: 'pocketsphinx', model: 'en-us' });
    expect((await runCli(['sessions', 'show', 'ps1'], box)).stdout).toMatch(/^engine:\s+pocketsphinx \(en-us\)$/m);
    expect((await runCli(['sessions', 'delete', 'ps1', '--yes'], box)).code).toBe(0);
  });

  it('list: newest first, a table and JSON, paging', async () => {
    const all = await listJson(box);
    expect(all.sessions.map((s) => s.id)).toEqual(['c1', 'b1', 'a1']);
    expect(all.pagination).toEqual({ total: 3, limit: 50, offset: 0, returned: 3 });
    expect(all.sessions[0]).toMatchObject({ status: 'completed', chunks: 2, resumed_from: 'b1', language: 'en' });
    const paged = await listJson(box, '--limit', '1', '--offset', '1');
    expect(paged.sessions.map((s) => s.id)).toEqual(['b1']);
    expect(paged.pagination).toMatchObject({ total: 3, returned: 1 });
    const table = await runCli(['sessions', 'list'], box);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+STARTED\s+DURATION\s+CHUNKS\s+WORDS\s+SIZE$/);
    expect(lines[1]).toMatch(/^c1\s+completed\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+00:00:02\s+2\s+0\s+\d+ kB$/);
    expect(lines.at(-1)).toBe('(1-3 of 3)');
  });

  it('show: metadata, paths, continuity, problems and the chain', async () => {
    const show = await runCli(['sessions', 'show', 'b1'], box);
    expect(show.code).toBe(0);
    const dir = path.join(box.recordings, 'b1');
    expect(show.stdout).toMatch(/^status:\s+completed, duration_reached$/m);
    expect(show.stdout).toMatch(/^resumed from:\s+a1$/m);
    expect(show.stdout).toMatch(/^resume chain:\s+a1 → \[b1\] → c1$/m);
    expect(show.stdout).toContain(`  ${path.join(dir, 'session.log')}\n`);
    expect(show.stdout).toContain(`  ${path.join(dir, 'chunk_00001.wav')}\n`);
    expect(show.stdout).toContain('2 finished chunks, continuous (no gaps, no restarts)');
    const json = JSON.parse((await runCli(['sessions', 'show', 'c1', '--json'], box)).stdout) as Record<string, unknown> & {
      chain: { ids: string[] };
      paths: { chunks: string[] };
      continuity: { listed: number; gaps: unknown[] };
    };
    expect(json).not.toHaveProperty('id');
    expect(json).toMatchObject({
      session_id: 'c1',
      active: false,
      resumed_from: 'b1',
      chain: { ids: ['a1', 'b1', 'c1'] },
      continuity: { listed: 2, gaps: [] },
    });
    expect(json.paths.chunks).toHaveLength(2);
  });

  it('show lists the last warnings and errors of the log', async () => {
    const dir = path.join(box.recordings, 'a1');
    const line = '2026-11-22T10:00:00Z WARNING echolog.ffmpeg: ffmpeg_stderr line="Past duration 0.6 too large"';
    fs.appendFileSync(path.join(dir, 'session.log'), `${line}\n`);
    const show = await runCli(['sessions', 'show', 'a1'], box);
    expect(show.stdout).toContain(`last warnings and errors (1):\n  ${line}\n`);
  });

  it.each(['wav', 'flac'])('export --follow-chain --audio .%s: sample-exact, the sum of the chunks', async (ext) => {
    const out = path.join(box.root, `chain.${ext}`);
    const result = await runCli(['sessions', 'export', 'b1', '--follow-chain', '--audio', out], box);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('6 chunks of a1 → b1 → c1');
    const expected = chunkSamples(dirs('a1', 'b1', 'c1'));
    // Three sessions of 2 s (ffmpeg's segmenter may cut a few samples past the duration).
    expect(expected / 16000).toBeCloseTo(6, 1);
    const probed = await probeSamples(out);
    expect(probed.sampleRate).toBe(16000);
    expect(probed.samples).toBe(expected);
    expect(fs.readdirSync(box.root).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('export --audio .mp3: decodes to the sum of the chunks (LAME gapless info), container duration within two frames', async () => {
    const out = path.join(box.root, 'one.mp3');
    expect((await runCli(['sessions', 'export', 'a1', '--audio', out], box)).code).toBe(0);
    const expected = chunkSamples(dirs('a1'));
    // ffprobe's container duration counts whole 1152-sample frames, padding included.
    expect(Math.abs((await probeSamples(out)).seconds - expected / 16000)).toBeLessThan((2 * 1152) / 16000);
    const decoded = path.join(box.root, 'one-decoded.wav');
    await execFileAsync('ffmpeg', ['-v', 'error', '-i', out, '-c:a', 'pcm_s16le', decoded]);
    expect((await probeSamples(decoded)).samples).toBe(expected);
  });

  it('export without --follow-chain is the one session; an existing output is kept unless --force', async () => {
    const out = path.join(box.root, 'b1.wav');
    expect((await runCli(['sessions', 'export', 'b1', '--audio', out], box)).code).toBe(0);
    expect((await probeSamples(out)).samples).toBe(chunkSamples(dirs('b1')));
    const again = await runCli(['sessions', 'export', 'b1', '--audio', out], box);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${out} exists; pass --force to replace it`);
    expect((await runCli(['sessions', 'export', 'b1', '--audio', out, '--force'], box)).code).toBe(0);
  });

  it('export --transcript merges the chain, each part at its audio offset', async () => {
    const jsonl = (text: string, start: number) =>
      `${JSON.stringify({ seq: 1, start, end: start + 0.5, text, engine: 'pocketsphinx', latency_ms: 5 })}\n`;
    fs.writeFileSync(path.join(box.recordings, 'a1', 'transcript.jsonl'), jsonl('first', 0.25));
    fs.writeFileSync(path.join(box.recordings, 'c1', 'transcript.jsonl'), jsonl('third', 0.5));
    for (const ext of ['json', 'srt', 'vtt', 'txt']) {
      const out = path.join(box.root, `chain.${ext}`);
      const result = await runCli(['sessions', 'export', 'c1', '--follow-chain', '--transcript', out], box);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('transcript: 2 utterances of a1 → b1 → c1');
    }
    const doc = JSON.parse(fs.readFileSync(path.join(box.root, 'chain.json'), 'utf8')) as {
      duration: number;
      utterances: Array<{ start: number; text: string }>;
    };
    const offsetOfC1 = chunkSamples(dirs('a1', 'b1')) / 16000;
    expect(doc.duration).toBeCloseTo(chunkSamples(dirs('a1', 'b1', 'c1')) / 16000, 3);
    expect(doc.utterances).toEqual([
      { start: 0.25, end: 0.75, text: 'first' },
      { start: Number((offsetOfC1 + 0.5).toFixed(3)), end: Number((offsetOfC1 + 1).toFixed(3)), text: 'third' },
    ]);
    expect(fs.readFileSync(path.join(box.root, 'chain.txt'), 'utf8')).toBe('first\nthird\n');
    expect(fs.readFileSync(path.join(box.root, 'chain.srt'), 'utf8')).toContain('00:00:04,500 --> 00:00:05,000\nthird');
  });

  // A real full file system that cannot hold 6 s of 16 kHz audio. ffmpeg 5 exits 0 in every case;
  // at 64 KiB a copied WAV fails without a word on stderr (only the header check sees it).
  it.each([
    ['wav', '64k'],
    ['wav', '40k'],
    ['flac', '40k'],
  ])('export .%s onto a full %s disk: exit 1 naming the file, no output and no temp file left', async (ext, size) => {
    const small = path.join(box.root, `small-${ext}-${size}`);
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', small]);
    try {
      const out = path.join(small, `full.${ext}`);
      const result = await runCli(['sessions', 'export', 'c1', '--follow-chain', '--audio', out], box);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^echolog: ffmpeg (could not|did not) write (all of )?${out.replaceAll('.', '\\.')}`));
      expect(fs.readdirSync(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('a joined WAV that ffmpeg left short without a word (its trailer never written) is caught by its header', async () => {
    const chunks = await readChunks(path.join(box.recordings, 'a1'), new Date());
    const joined = path.join(box.root, 'joined.wav');
    await execFileAsync('ffmpeg', [
      '-v',
      'error',
      '-i',
      chunks[0]!.path,
      '-i',
      chunks[1]!.path,
      '-filter_complex',
      'concat=n=2:v=0:a=1',
      '-c:a',
      'pcm_s16le',
      '-y',
      joined,
    ]);
    await expect(checkJoinedWav(joined, chunks, 'out.wav')).resolves.toBeUndefined();
    // What a full disk leaves: the first 32 KiB, with the header's sizes for the whole file.
    expect(fs.statSync(joined).size).toBeGreaterThan(32768);
    fs.truncateSync(joined, 32768);
    await expect(checkJoinedWav(joined, chunks, 'out.wav')).rejects.toThrow(
      /^ffmpeg did not write all of out\.wav \(header says \d+ bytes of audio, the file holds \d+; is the disk full\?\); nothing was exported$/,
    );
    // A header promising less audio than the chunks hold.
    await execFileAsync('ffmpeg', ['-v', 'error', '-i', chunks[0]!.path, '-c', 'copy', '-y', joined]);
    await expect(checkJoinedWav(joined, chunks, 'out.wav')).rejects.toThrow(/it holds \d+ bytes of audio, the chunks \d+/);
  });

  it('Ctrl-C during an export stops ffmpeg and leaves nothing: exit 130', async () => {
    // Ten minutes of audio, recorded in a second or two: its MP3 takes seconds to encode.
    expect(
      (
        await runCli(
          [
            'record',
            '-q',
            '--input-format',
            'lavfi',
            '--input',
            'sine',
            '--duration',
            '600',
            '--segment-time',
            '60',
            '--no-realtime',
            '--session-id',
            'long1',
          ],
          box,
        )
      ).code,
    ).toBe(0);
    const outDir = path.join(box.root, 'interrupted');
    fs.mkdirSync(outDir);
    const child = startCli(['sessions', 'export', 'long1', '--audio', path.join(outDir, 'long.mp3')], box);
    await waitFor(() => fs.readdirSync(outDir).some((f) => f.endsWith('.tmp')), 20_000, 'the temp file');
    child.kill('SIGINT');
    expect((await exitOf(child)).code).toBe(130);
    expect(child.output().stderr).toContain(`export to ${path.join(outDir, 'long.mp3')} stopped by SIGINT; nothing was written`);
    expect(fs.readdirSync(outDir)).toEqual([]);
    expect(processesMatching('ffmpeg', path.join(outDir, 'long.mp3'))).toEqual([]);
    fs.rmSync(path.join(box.recordings, 'long1'), { recursive: true });
  });

  it('export refuses bad output names and a missing output', async () => {
    const ogg = await runCli(['sessions', 'export', 'a1', '--audio', 'x.ogg'], box);
    expect(ogg.code).toBe(2);
    expect(ogg.stderr).toContain('--audio "x.ogg" is not allowed: the file name must end in .wav, .flac, .mp3');
    const none = await runCli(['sessions', 'export', 'a1'], box);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs --audio <file> and/or --transcript <file>');
  });

  it('record --resume refuses an unknown id and a path, creating nothing', async () => {
    const before = fs.readdirSync(box.recordings).sort();
    const unknown = await runCli([...RECORD, '--resume', 'nope'], box);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`--resume: no session nope in ${box.recordings}`);
    const traversal = await runCli([...RECORD, '--resume', '../a1'], box);
    expect(traversal.code).toBe(2);
    expect(traversal.stderr).toContain('"../a1" is not a session id');
    expect(fs.readdirSync(box.recordings).sort()).toEqual(before);
  });
});

describe('filters, clean-up and a corrupt manifest among many', () => {
  const box = makeSandbox();
  afterAll(() => box.cleanup());
  const day = (n: number): string => new Date(Date.UTC(2026, 0, 1 + n, 12)).toISOString();

  beforeAll(() => {
    fs.mkdirSync(box.recordings, { mode: 0o700 });
    for (let i = 0; i < 40; i++)
      writeSession(box.recordings, `s${String(i).padStart(2, '0')}`, day(i), {
        status: i % 10 === 3 ? 'error' : i % 10 === 7 ? 'interrupted' : 'completed',
      });
  });

  it('--status, --since, --until, --limit and --offset', async () => {
    expect((await listJson(box)).pagination.total).toBe(40);
    expect((await listJson(box)).sessions).toHaveLength(40);
    expect((await listJson(box, '--limit', '5')).sessions.map((s) => s.id)).toEqual(['s39', 's38', 's37', 's36', 's35']);
    expect((await listJson(box, '--limit', '2', '--offset', '38')).sessions.map((s) => s.id)).toEqual(['s01', 's00']);
    const errors = await listJson(box, '--status', 'error');
    expect(errors.sessions.map((s) => s.id)).toEqual(['s33', 's23', 's13', 's03']);
    expect(errors.pagination.total).toBe(4);
    expect((await listJson(box, '--status', 'interrupted', '--limit', '1', '--offset', '1')).sessions.map((s) => s.id)).toEqual(['s27']);
    expect((await listJson(box, '--status', 'active')).sessions).toEqual([]);
    const window = await listJson(box, '--since', '2026-01-10', '--until', day(12));
    expect(window.sessions.map((s) => s.id)).toEqual(['s11', 's10', 's09']);
    expect((await listJson(box, '--since', '1h')).pagination.total).toBe(0);
  });

  it('bad filter values: exit 2 naming the value', async () => {
    for (const [args, message] of [
      [['--status', 'done'], '--status "done" is not allowed'],
      [['--limit', '0'], '--limit "0" is not allowed: give a whole number of at least 1'],
      [['--offset', '-1'], '--offset "-1" is not allowed'],
      [['--since', 'yesterday'], '--since "yesterday" is not allowed'],
    ] as const) {
      const result = await runCli(['sessions', 'list', ...args], box);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it('a corrupt session.json among many: rebuilt from its folder, or skipped with a warning; the rest are listed', async () => {
    const rebuildable = writeSession(box.recordings, 'zz-rebuilt', day(100));
    fs.writeFileSync(path.join(rebuildable, 'session.json'), '{"session_id": "zz-rebu');
    fs.writeFileSync(
      path.join(rebuildable, 'session.log'),
      `2026-04-11T12:00:00Z INFO echolog.session: session_start session_id=zz-rebuilt start_time=${day(100)} device=sine input_format=lavfi sample_rate=16000 channels=1 segment_time=1 log_level=info pid=4242\n`,
    );
    const garbage = writeSession(box.recordings, 'zz-garbage', day(101));
    fs.writeFileSync(path.join(garbage, 'session.json'), '\0\0garbage');
    const result = await runCli(['sessions', 'list', '--json', '--limit', '100'], box);
    expect(result.code).toBe(0);
    const page = JSON.parse(result.stdout) as ListJson;
    expect(page.pagination.total).toBe(41);
    // Rebuilt as `recording` with its echolog (pid 4242) gone: the listing recovers it (issue 16).
    expect(page.sessions[0]).toMatchObject({ id: 'zz-rebuilt', status: 'interrupted' });
    expect(page.sessions.map((s) => s.id)).not.toContain('zz-garbage');
    expect(result.stderr).toContain(
      `${path.join(rebuildable, 'session.json')} was unreadable (it is not valid JSON (truncated?)); rebuilt it from segments.csv and session.log`,
    );
    expect(result.stderr).toContain(`skipped ${garbage}: ${path.join(garbage, 'session.json')} cannot be used`);
    // The cache does not keep what is unreadable: fixed files are seen on the next listing.
    fs.rmSync(rebuildable, { recursive: true });
    fs.rmSync(garbage, { recursive: true });
    expect((await listJson(box)).pagination.total).toBe(40);
  });

  it('delete --older-than removes exactly the older sessions, without asking with --yes', async () => {
    const tmp = makeSandbox();
    try {
      fs.mkdirSync(tmp.recordings, { mode: 0o700 });
      writeSession(tmp.recordings, 'old1', new Date(Date.now() - 10 * 86_400_000).toISOString());
      writeSession(tmp.recordings, 'old2', new Date(Date.now() - 8 * 86_400_000).toISOString());
      writeSession(tmp.recordings, 'new1', new Date(Date.now() - 3_600_000).toISOString());
      const result = await runCli(['sessions', 'delete', '--older-than', '7d', '--yes', '--json'], tmp);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(
        expect.arrayContaining([
          { deleted: true, session_id: 'old1' },
          { deleted: true, session_id: 'old2' },
        ]),
      );
      expect(fs.readdirSync(tmp.recordings).filter((f) => !f.startsWith('.'))).toEqual(['new1']);
      expect((await listJson(tmp)).sessions.map((s) => s.id)).toEqual(['new1']);
      const bad = await runCli(['sessions', 'delete', '--older-than', 'a week', '--yes'], tmp);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--older-than "a week" is not allowed');
    } finally {
      tmp.cleanup();
    }
  });

  it('delete asks on a terminal (no: nothing deleted; yes: deleted) and refuses without one unless --yes', async () => {
    writeSession(box.recordings, 'ask1', day(200));
    const noTty = await runCli(['sessions', 'delete', 'ask1'], box);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('refusing to delete 1 session without confirmation: stdin is not a terminal; pass --yes');
    expect(fs.existsSync(path.join(box.recordings, 'ask1'))).toBe(true);

    // util-linux `script` gives echolog a real terminal; the answer is typed into it.
    const onTty = (answer: string): Promise<string> =>
      new Promise((resolve) => {
        const child = execFile(
          'script',
          ['-qec', `${BIN} sessions delete ask1`, '/dev/null'],
          { cwd: box.home, env: box.env },
          (_error, stdout) => resolve(stdout),
        );
        child.stdin!.end(`${answer}\n`);
      });
    const no = await onTty('n');
    expect(no).toMatch(/Delete 1 session \(ask1; [\d.]+ \w?B\)\? \[y\/N\]/);
    expect(no).toContain('nothing deleted');
    expect(fs.existsSync(path.join(box.recordings, 'ask1'))).toBe(true);
    const yes = await onTty('y');
    expect(yes).toContain('deleted ask1');
    expect(fs.existsSync(path.join(box.recordings, 'ask1'))).toBe(false);
  });

  it('ids are names of folders directly inside the recordings dir: paths and symlinks are refused (exit 2), nothing is deleted', async () => {
    const outside = path.join(box.root, 'outside');
    writeSession(outside, 'victim', day(1));
    fs.symlinkSync(path.join(outside, 'victim'), path.join(box.recordings, 'link1'));
    fs.mkdirSync(path.join(box.recordings, 's00', 'nested'));
    const before = fs.readdirSync(box.recordings).sort();
    // Side by side: each is refused before it touches anything, and the listing after shows nothing went.
    const commands = ['../outside/victim', '../x', 's00/nested', path.join(outside, 'victim'), '.', '..', 'link1', 'missing'].flatMap(
      (id) => [
        ['sessions', 'delete', id, '--yes'],
        ['sessions', 'show', id],
        ['sessions', 'export', id, '--audio', path.join(box.root, 'x.wav')],
      ],
    );
    const results = await Promise.all(commands.map((command) => runCli(command, box)));
    results.forEach((result, i) => {
      expect(result.code, `${commands[i]!.join(' ')}`).toBe(2);
      expect(result.stderr).toMatch(/is not a session id|is not a session folder|no session missing/);
    });
    // A good id beside a bad one: every id is checked before anything is deleted.
    expect((await runCli(['sessions', 'delete', 's01', '../x', '--yes'], box)).code).toBe(2);
    expect(fs.readdirSync(box.recordings).sort()).toEqual(before);
    expect(fs.existsSync(path.join(outside, 'victim', 'session.json'))).toBe(true);
  });
});

describe('the recordings dir', () => {
  it('none yet: no sessions; one another account could write: refused with exit 2, as record and status do', async () => {
    const box = makeSandbox();
    try {
      const none = await runCli(['sessions', 'list'], box);
      expect(none).toMatchObject({ code: 0, stdout: 'no sessions\n', stderr: '' });
      fs.mkdirSync(box.recordings, { mode: 0o700 });
      writeSession(box.recordings, 'x1', new Date().toISOString());
      fs.chmodSync(box.recordings, 0o777);
      for (const command of [
        ['sessions', 'list'],
        ['sessions', 'show', 'x1'],
        ['sessions', 'delete', 'x1', '--yes'],
        ['sessions', 'export', 'x1', '--audio', path.join(box.root, 'x.wav')],
      ]) {
        const result = await runCli(command, box);
        expect(result.code, command.join(' ')).toBe(2);
        expect(result.stderr).toContain(`recordings dir ${box.recordings} cannot be used: it is writable by group and others`);
      }
      expect(fs.existsSync(path.join(box.recordings, 'x1', 'session.json'))).toBe(true);
    } finally {
      box.cleanup();
    }
  });
});

describe('an active session cannot be deleted or resumed (seed 003: 409)', () => {
  const box = makeSandbox();
  afterAll(() => box.cleanup());

  it('refuses with exit 1 and a clear message while `record` runs, and deletes it once stopped', async () => {
    const child = startCli(
      ['record', '--input-format', 'lavfi', '--input', 'sine=frequency=440', '--segment-time', '1', '--session-id', 'live'],
      box,
    );
    const dir = path.join(box.recordings, 'live');
    try {
      await waitFor(() => (readManifestSync(dir)?.stats.chunks ?? 0) >= 1, 20_000, 'the first chunk');
      const listed = await listJson(box, '--status', 'active');
      expect(listed.sessions.map((s) => s.id)).toEqual(['live']);
      expect(listed.sessions[0]!.status).toBe('recording');

      const del = await runCli(['sessions', 'delete', 'live', '--yes'], box);
      expect(del.code).toBe(1);
      expect(del.stderr).toContain(`session live is recording now (pid ${child.pid}) and cannot be deleted; stop it first`);
      expect(fs.existsSync(path.join(dir, 'session.json'))).toBe(true);

      const resume = await runCli(
        ['record', '--resume', 'live', '--input-format', 'lavfi', '--input', 'sine', '--duration', '1', '--no-realtime'],
        box,
      );
      expect(resume.code).toBe(1);
      expect(resume.stderr).toContain('--resume live: that session is still recording');

      const show = await runCli(['sessions', 'show', 'live'], box);
      expect(show.stdout).toMatch(/^status:\s+recording \(recording now\)$/m);
    } finally {
      child.kill('SIGINT');
      await exitOf(child);
    }
    const after = await runCli(['sessions', 'delete', 'live', '--yes'], box);
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('deleted live\n');
    expect(fs.readdirSync(box.recordings).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});

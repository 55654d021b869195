import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chunkFiles,
  expectChunksFinalAndLogged,
  expectFinalWav,
  expectStopLast,
  isAlive,
  processesMatching,
  readManifestSync,
  segmentRows,
} from './helpers/chunks.js';
import {
  BIN,
  exitOf,
  makeSpeech,
  onlySessionDir,
  readSessionLog,
  runCli,
  sandboxPool,
  SINE,
  startCli,
  waitFor,
  type Sandbox,
} from './helpers/cli.js';

const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const pool = sandboxPool();
const sandbox = pool.sandbox;
afterAll(pool.cleanup);

const R2_FIELDS = [
  'session_id',
  'start_time',
  'device',
  'sample_rate',
  'channels',
  'codec',
  'format',
  'segment_time',
  'output_dir',
  'overrides',
];

describe('echolog record with the real ffmpeg', () => {
  it.concurrent(
    'duration end: valid chunks, one chunk_created each, session_start first with every R2 field, session_stop last, exit 0',
    async () => {
      const box = sandbox();
      const result = await runCli(
        ['record', ...LAVFI, '--duration', '3', '--segment-time', '1', '--no-realtime', '--sample-rate', '22050'],
        box,
      );
      expect(result.stderr).toBe('');
      expect(result.code, result.stderr).toBe(0);
      const dir = onlySessionDir(box.recordings);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(result.stdout).toContain(`Logging to ${path.join(dir, 'session.log')} (level=info)`);
      expect(result.stdout.match(/^Logging to /gm)).toHaveLength(1);

      const log = readSessionLog(dir);
      const start = log.findIndex((l) => l.message === 'session_start');
      const firstChunk = log.findIndex((l) => l.message === 'chunk_created');
      expect(start).toBe(0);
      expect(firstChunk).toBeGreaterThan(start);
      const fields = log[start]!.fields;
      for (const key of R2_FIELDS) expect(fields, `session_start ${key}`).toHaveProperty(key);
      expect(fields).toMatchObject({
        session_id: path.basename(dir),
        device: SINE,
        sample_rate: '22050',
        channels: '1',
        codec: 'pcm_s16le',
        format: 'wav',
        segment_time: '1',
        output_dir: dir,
      });
      expect(Date.parse(fields.start_time!)).not.toBeNaN();
      expect(fields.start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      // The input holds `=` and `,`-free lavfi options; the field parses back to exactly what was set.
      expect(JSON.parse(fields.overrides!)).toMatchObject({
        'recording.sample_rate': 22050,
        'recording.segment_time': 1,
        'recording.input': SINE,
      });

      const created = expectChunksFinalAndLogged(dir, log);
      expect(created).toHaveLength(3);
      for (const file of chunkFiles(dir)) expectFinalWav(path.join(dir, file), { sampleRate: 22050, channels: 1 });
      const total = created.reduce((sum, c) => sum + Number(c.fields.duration_s), 0);
      expect(total).toBeCloseTo(3, 1);
      const stop = expectStopLast(log, 'duration_reached');
      expect(stop.fields.chunks).toBe('3');
      expect(stop.fields.exit_code).toBe('0');
      expect(fs.readdirSync(box.recordings)).toEqual([path.basename(dir)]); // the recording lock is released

      // The logged command, pasted into a shell and pointed at a fresh folder, records the same way.
      const command = log.find((l) => l.message === 'ffmpeg_command')!.fields.command!;
      expect(command.startsWith('/')).toBe(true);
      const fresh = path.join(box.root, 'replay');
      fs.mkdirSync(fresh);
      expect(command.split(dir).length).toBeGreaterThan(2);
      await new Promise<void>((resolve, reject) =>
        execFile('sh', ['-c', command.replaceAll(dir, fresh)], { timeout: 30_000 }, (error) => (error ? reject(error) : resolve())),
      );
      const replayed = chunkFiles(fresh);
      expect(replayed).toHaveLength(3);
      for (const file of replayed) expectFinalWav(path.join(fresh, file), { sampleRate: 22050, channels: 1 });
      expect(fs.readFileSync(path.join(fresh, 'segments.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    },
  );

  it.concurrent('a recordings dir with spaces, quotes, $ and % records, and its logged command replays', async () => {
    const box = sandbox();
    const recordings = path.join(box.root, `it's "my" $HOME 100%d`);
    const result = await runCli(
      ['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--recordings-dir', recordings],
      box,
    );
    expect(result.stderr).toBe('');
    expect(result.code, result.stderr).toBe(0);
    const dir = onlySessionDir(recordings);
    const log = readSessionLog(dir);
    expect(expectChunksFinalAndLogged(dir, log)).toHaveLength(2);
    expectStopLast(log, 'duration_reached');
    const command = log.find((l) => l.message === 'ffmpeg_command')!.fields.command!;
    fs.rmSync(dir, { recursive: true });
    fs.mkdirSync(dir);
    await new Promise<void>((resolve, reject) =>
      execFile('sh', ['-c', command], { timeout: 30_000 }, (error) => (error ? reject(error) : resolve())),
    );
    expect(chunkFiles(dir)).toHaveLength(2);
    for (const file of chunkFiles(dir)) expectFinalWav(path.join(dir, file));
  });

  it.concurrent(
    "a lavfi graph with ffmpeg's own \\: escapes, quotes and | pastes from session.log and runs as is (issue 8 row 10)",
    async () => {
      const box = sandbox();
      // `\:` is a colon inside an option value, `'…'` ffmpeg's quoting, `|` a shell metacharacter; -c:a is in every command.
      const graph = "sine=frequency=440:sample_rate=16000,ametadata=mode=add:key=note:value='a\\:b',pan=mono|c0=c0";
      const result = await runCli(
        ['record', '--input-format', 'lavfi', '--input', graph, '--duration', '2', '--segment-time', '1', '--no-realtime'],
        box,
      );
      expect(result.code, result.stderr).toBe(0);
      const dir = onlySessionDir(box.recordings);
      // What a user copies: the text between the quotes of the raw line, not the parsed field.
      const raw = fs
        .readFileSync(path.join(dir, 'session.log'), 'utf8')
        .split('\n')
        .find((line) => line.includes(' ffmpeg_command '))!;
      const pasted = /command="(.*)"$/.exec(raw)![1]!;
      expect(pasted).toBe(readSessionLog(dir).find((l) => l.message === 'ffmpeg_command')!.fields.command);
      expect(pasted).toContain(' -c:a pcm_s16le ');
      expect(pasted).toContain("value='\\''a\\:b'\\''");
      fs.rmSync(dir, { recursive: true });
      fs.mkdirSync(dir);
      await new Promise<void>((resolve, reject) =>
        execFile('sh', ['-c', pasted], { timeout: 30_000 }, (error) => (error ? reject(error) : resolve())),
      );
      expect(chunkFiles(dir)).toHaveLength(2);
      for (const file of chunkFiles(dir)) expectFinalWav(path.join(dir, file), { sampleRate: 16000 });
    },
  );

  it.concurrent('--input speech.wav (a file made by flite) records to its end, exit 0', async () => {
    const box = sandbox();
    const speech = await makeSpeech('the quick brown fox jumps over the lazy dog', path.join(box.home, 'speech.wav'));
    const result = await runCli(['record', '--input', 'speech.wav', '--segment-time', '1', '--no-realtime'], box);
    expect(result.stderr).toBe('');
    expect(result.code, result.stderr).toBe(0);
    const dir = onlySessionDir(box.recordings);
    const log = readSessionLog(dir);
    expect(log[0]!.fields.device).toBe(speech);
    const created = expectChunksFinalAndLogged(dir, log);
    const recorded = created.reduce((sum, c) => sum + Number(c.fields.duration_s), 0);
    expect(recorded).toBeCloseTo(expectFinalWav(speech), 1);
    expectStopLast(log, 'end_of_input');
  });

  it.concurrent('a reader that goes away (`echolog record | head -1`) does not stop the recording', async () => {
    const box = sandbox();
    // echolog's own exit code goes through a file: a pipeline's status is head's.
    const pipeline = `(${BIN} record --input-format lavfi --input ${SINE} --duration 3 --segment-time 1; echo $? > status) | head -1; exit "$(cat status)"`;
    const shell = execFile('sh', ['-c', pipeline], { cwd: box.home, env: box.env });
    let stdout = '';
    shell.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exit = await exitOf(shell);
    expect(stdout).toMatch(/^Logging to \S+session\.log \(level=info\)\n$/);
    expect(exit.code).toBe(0);
    const dir = onlySessionDir(box.recordings);
    const log = readSessionLog(dir);
    expect(expectChunksFinalAndLogged(dir, log)).toHaveLength(3);
    expectStopLast(log, 'duration_reached');
  });

  describe('stopped by a signal: session_stop last, the open chunk finalized and logged', () => {
    it.concurrent.each([
      ['SIGINT', 130, 'user_interrupt'],
      ['SIGTERM', 143, 'terminated'],
      ['SIGHUP', 129, 'terminated'],
    ] as const)('%s → exit %i, reason %s', async (signal, code, reason) => {
      const box = sandbox();
      const child = startCli(['record', ...LAVFI, '--segment-time', '1', '--session-id', 'sig'], box);
      const dir = path.join(box.recordings, 'sig');
      // Stop in the middle of the second chunk: one chunk is listed, one is open.
      await waitFor(() => segmentRows(dir) >= 1, 20_000, 'the first chunk');
      await new Promise((r) => setTimeout(r, 400));
      child.kill(signal);
      const exit = await exitOf(child);
      expect(exit, child.output().stderr).toEqual({ code, signal: null });
      const log = readSessionLog(dir);
      const created = expectChunksFinalAndLogged(dir, log);
      expect(created.length).toBeGreaterThanOrEqual(2);
      const stop = expectStopLast(log, reason);
      expect(stop.fields.signal).toBe(signal);
      expect(stop.fields.exit_code).toBe(String(code));
      // The triage log says what was asked and each rung of the stop ladder taken: ffmpeg obeys `q`.
      expect(log.find((l) => l.message === 'stop_requested')?.fields).toMatchObject({ signal, reason });
      expect(log.filter((l) => l.message === 'ffmpeg_stop_step').map((l) => l.fields.step)).toEqual(['q']);
      // Nothing is left behind: ffmpeg has exited, and so has its orphan watchdog.
      const ffmpegPid = readManifestSync(dir)!.ffmpeg_pid!;
      expect(isAlive(ffmpegPid)).toBe(false);
      await waitFor(() => processesMatching('echolog-orphan-watchdog', String(ffmpegPid)).length === 0, 3_000, 'the watchdog to exit');
    });
  });
});

describe('refused before anything is created', () => {
  const cases: Array<[string, string[], RegExp[]]> = [
    ['unknown --log-level', [...LAVFI, '--log-level', 'loud'], [/loud/, /debug.*info.*warning.*error/]],
    ['non-numeric --segment-time', [...LAVFI, '--segment-time', 'ten'], [/--segment-time/, /ten/, /not a duration/]],
    ['missing input file', ['--input', 'missing.wav'], [/missing\.wav/, /no such file/, /--input-format/]],
    ['bad --session-id', [...LAVFI, '--session-id', '../escape'], [/\.\.\/escape/, /letters, digits/]],
    ['zero --duration', [...LAVFI, '--duration', '0s'], [/--duration/, /"0s"/, /greater than 0/]],
    [
      '--duration beyond any recording',
      [...LAVFI, '--duration', '99999999999999w'],
      [/--duration/, /99999999999999w/, /not a duration/, /up to 3650d/],
    ],
    ['non-numeric --duration', [...LAVFI, '--duration', 'soon'], [/--duration/, /soon/, /not a duration/]],
  ];
  it.concurrent.each(cases)('%s → exit 2, names the value and what is allowed, no session folder', async (_name, args, messages) => {
    const box = sandbox();
    const result = await runCli(['record', '--duration', '1', ...args], box);
    expect(result.code, result.stderr).toBe(2);
    for (const message of messages) expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
    expect(fs.existsSync(box.recordings) ? fs.readdirSync(box.recordings) : []).toEqual([]);
  });

  it.concurrent('a recordings dir that is a file → exit 2 naming it, for record and status, not a stack', async () => {
    const box = sandbox();
    fs.writeFileSync(box.recordings, 'not a folder');
    for (const args of [
      ['record', ...LAVFI, '--duration', '1'],
      ['status'],
      ['record', ...LAVFI, '--duration', '1', '--recordings-dir', path.join(box.recordings, 'sub')],
    ]) {
      const result = await runCli(args, box);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`recordings dir ${box.recordings}\\S* cannot be used: .*not a directory.*--recordings-dir`));
      expect(result.stderr).not.toMatch(/bug|\n\s+at /);
    }
    expect(fs.readFileSync(box.recordings, 'utf8')).toBe('not a folder');
  });

  it.concurrent('a --session-id that already exists → exit 2, the existing session untouched', async () => {
    const box = sandbox();
    const args = ['record', ...LAVFI, '--duration', '1', '--segment-time', '1', '--no-realtime', '--session-id', 'taken'];
    expect((await runCli(args, box)).code).toBe(0);
    const dir = path.join(box.recordings, 'taken');
    const before = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const again = await runCli(args, box);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--session-id taken: a session with this id already exists/);
    expect(Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]))).toEqual(before);
    expect(fs.readdirSync(box.recordings).filter((name) => !name.startsWith('.'))).toEqual(['taken']);
  });

  it.concurrent('a --session-id that already exists, with an engine already loaded → exit 2 at once, the engine released', async () => {
    const box = sandbox();
    fs.mkdirSync(path.join(box.recordings, 'taken'), { recursive: true });
    const started = Date.now();
    const again = await runCli(['record', ...LAVFI, '--duration', '1', '--session-id', 'taken', '--engine', 'pocketsphinx'], box);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--session-id taken: a session with this id already exists/);
    // The decoder prepare() started must not keep echolog alive.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it.concurrent('missing ffmpeg (not on PATH, ECHOLOG_FFMPEG unset) → exit 1, says what was tried and how to install', async () => {
    const box = sandbox();
    // A PATH with node (the bin's shebang needs it) and nothing else.
    const bin = path.join(box.root, 'only-node');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const env: Sandbox['env'] = { ...box.env, PATH: bin };
    delete env.ECHOLOG_FFMPEG;
    const result = await runCli(['record', ...LAVFI, '--duration', '1'], { ...box, env });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/ffmpeg not found/);
    expect(result.stderr).toContain(bin);
    expect(result.stderr).toMatch(/install/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(box.recordings) ? fs.readdirSync(box.recordings) : []).toEqual([]);

    const configured = path.join(box.root, 'no', 'ffmpeg');
    const named = await runCli(['record', ...LAVFI, '--duration', '1'], box, { ECHOLOG_FFMPEG: configured });
    expect(named.code).toBe(1);
    expect(named.stderr).toContain(configured);
    expect(fs.existsSync(box.recordings) ? fs.readdirSync(box.recordings) : []).toEqual([]);
  });

  it.concurrent('--dry-run prints the settings and the exact command, records nothing', async () => {
    const box = sandbox();
    const result = await runCli(['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--session-id', 'dry', '--dry-run'], box);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('session_id:     dry');
    const command = result.stdout
      .split('\n')
      .find((line) => line.includes('-segment_list'))!
      .trim();
    expect(command).toMatch(/^\/\S*ffmpeg /);
    expect(command).toContain(`-t 2 `);
    expect(command).toContain(path.join(box.recordings, 'dry', 'segments.csv'));
    expect(fs.existsSync(box.recordings)).toBe(false);
  });
});

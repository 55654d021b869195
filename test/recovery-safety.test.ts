import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectChunksFinalAndLogged, expectStopLast, isAlive, readManifestSync } from './helpers/chunks.js';
import { readSessionLog, runCli, sandboxPool, SINE, type Sandbox } from './helpers/cli.js';

/**
 * Issue 8 rows 3, 4 and 6 with real processes and real files: recovery never signals a process
 * it cannot prove is the session's ffmpeg, never follows an id from disk out of the recordings
 * dir, and rebuilds (or names) a corrupt session.json instead of printing a stack.
 */
const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const pool = sandboxPool();
const sandbox = pool.sandbox;
const bystanders: ChildProcess[] = [];
afterAll(() => {
  for (const child of bystanders) child.kill('SIGKILL');
  pool.cleanup();
});

/** A real, unrelated process: what a reused pid belongs to. */
function startBystander(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  bystanders.push(child);
  return child.pid!;
}

function startTicksOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

const deadPid = (): number => spawnSync('true').pid!;
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |this is a bug/);

/**
 * Records a short real session, then leaves it as a crash would: session.json says recording
 * (echolog's pid dead), no session_stop, the lock still there. `patch` edits session.json.
 */
async function crashedSession(box: Sandbox, id: string, patch: Record<string, unknown> = {}): Promise<string> {
  const result = await runCli(['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--session-id', id], box);
  expect(result.code, result.stderr).toBe(0);
  const dir = path.join(box.recordings, id);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown>;
  const pid = deadPid();
  fs.writeFileSync(
    path.join(dir, 'session.json'),
    JSON.stringify({ ...manifest, status: 'recording', pid, pid_start_ticks: null, stop_reason: null, ended_at: null, ...patch }),
  );
  const log = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
  fs.writeFileSync(
    path.join(dir, 'session.log'),
    log
      .split('\n')
      .filter((line) => !line.includes(' session_stop '))
      .join('\n'),
  );
  fs.writeFileSync(path.join(box.recordings, '.active-session.json'), JSON.stringify({ session_id: id, pid }));
  return dir;
}

describe('a reused ffmpeg_pid is never signalled (row 3)', () => {
  it.concurrent.each([
    [
      'its start time differs from the one recorded at spawn',
      (_pid: number, recorded: number) => recorded,
      /start time \d+ is not the recorded \d+: the pid was reused/,
    ],
    [
      'it has the recorded start time but is not ffmpeg writing into the session',
      (pid: number) => startTicksOf(pid),
      /command line does not write to .*chunk_%05d\.wav/,
    ],
  ])('an unrelated process holds the pid (%s): status recovers the session and the process lives', async (_case, ticks, why) => {
    const box = sandbox();
    const bystander = startBystander();
    const dir = await crashedSession(box, 'reused');
    // The real ffmpeg's start time, recorded at spawn; that ffmpeg has exited and its pid is "reused".
    const recorded = (readManifestSync(dir) as unknown as { ffmpeg_start_ticks: number }).ffmpeg_start_ticks;
    expect(recorded).toBeGreaterThan(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      path.join(dir, 'session.json'),
      JSON.stringify({ ...manifest, ffmpeg_pid: bystander, ffmpeg_start_ticks: ticks(bystander, recorded) }),
    );

    const result = await runCli(['status'], box);
    expect(result.code, result.stderr).toBe(0);
    noStack(result.stderr);
    expect(result.stdout).toContain('last session: reused (interrupted)');
    expect(isAlive(bystander)).toBe(true);
    const log = readSessionLog(dir);
    const refused = log.find((l) => l.message === 'ffmpeg_not_signalled');
    expect(refused?.fields.pid).toBe(String(bystander));
    expect(refused?.fields.reason).toMatch(why);
    expectChunksFinalAndLogged(dir, log);
    expectStopLast(log, 'interrupted');
  });

  it.concurrent(
    'a lock whose pid now belongs to another process (start time differs) is stale: status recovers, record is not blocked',
    async () => {
      const box = sandbox();
      const bystander = startBystander();
      const dir = await crashedSession(box, 'ghost');
      fs.writeFileSync(
        path.join(box.recordings, '.active-session.json'),
        JSON.stringify({ session_id: 'ghost', pid: bystander, pid_start_ticks: startTicksOf(bystander) + 1 }),
      );
      fs.writeFileSync(
        path.join(dir, 'session.json'),
        JSON.stringify({
          ...JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')),
          pid: bystander,
          pid_start_ticks: startTicksOf(bystander) + 1,
        }),
      );

      const status = await runCli(['status'], box);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('last session: ghost (interrupted)');
      const record = await runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'after'], box);
      expect(record.code, record.stderr).toBe(0);
      expect(isAlive(bystander)).toBe(true);
    },
  );
});

describe('ids from disk are untrusted (row 4)', () => {
  it.concurrent.each([
    ['status', ['status']],
    ['record', ['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'next']],
  ])('a lock naming ../outside: %s reports and removes it, writes nothing outside, signals nothing', async (_who, command) => {
    const box = sandbox();
    const bystander = startBystander();
    fs.mkdirSync(box.recordings, { mode: 0o700 });
    // What a recovery that followed the id would act on: a "recording" session beside the recordings dir.
    const outside = path.join(box.root, 'outside');
    fs.mkdirSync(outside);
    const bait = JSON.stringify({ session_id: 'outside', status: 'recording', pid: deadPid(), ffmpeg_pid: bystander });
    fs.writeFileSync(path.join(outside, 'session.json'), bait);
    const lock = path.join(box.recordings, '.active-session.json');
    fs.writeFileSync(lock, JSON.stringify({ session_id: '../outside', pid: deadPid() }));

    const result = await runCli(command, box);
    expect(result.code, result.stderr).toBe(0);
    noStack(result.stderr);
    expect(result.stderr).toContain(
      `echolog: removed the invalid lock file ${lock}: its session_id "../outside" is not a valid session id`,
    );
    expect(fs.readdirSync(outside)).toEqual(['session.json']);
    expect(fs.readFileSync(path.join(outside, 'session.json'), 'utf8')).toBe(bait);
    expect(isAlive(bystander)).toBe(true);
    if (command[0] === 'status') expect(fs.existsSync(lock)).toBe(false);
    else expectStopLast(readSessionLog(path.join(box.recordings, 'next')), 'duration_reached');
  });
});

describe('a corrupt session.json (row 6)', () => {
  it.concurrent.each([
    ['truncated', (text: string) => text.slice(0, text.length / 2), /it is not valid JSON \(truncated\?\)/],
    ['empty', () => '', /it is empty/],
    ['garbage', () => '\u0000\u0000garbage', /it is not valid JSON \(truncated\?\)/],
  ])('%s, after a crash: status rebuilds it from the folder, recovers the session and says so in one line', async (_case, corrupt, why) => {
    const box = sandbox();
    const dir = await crashedSession(box, 'torn');
    const file = path.join(dir, 'session.json');
    fs.writeFileSync(file, corrupt(fs.readFileSync(file, 'utf8')));

    const result = await runCli(['status'], box);
    expect(result.code, result.stderr).toBe(0);
    noStack(result.stderr);
    expect(result.stderr).toMatch(
      new RegExp(`^echolog: ${file} was unreadable \\(${why.source}\\); rebuilt it from segments.csv and session.log\\n$`),
    );
    expect(result.stdout).toContain('last session: torn (interrupted)');
    const log = readSessionLog(dir);
    const created = expectChunksFinalAndLogged(dir, log);
    expect(expectStopLast(log, 'interrupted').fields.recovered_chunks).toBe('0');
    expect(readManifestSync(dir)).toMatchObject({ session_id: 'torn', status: 'interrupted', stats: { chunks: created.length } });
  });

  it.concurrent('with nothing to rebuild it from: status and transcribe name the file in one line, no stack', async () => {
    const box = sandbox();
    const dir = await crashedSession(box, 'lost');
    const file = path.join(dir, 'session.json');
    fs.writeFileSync(file, '{"session_id": "lo');
    fs.rmSync(path.join(dir, 'session.log'));
    const expected = `echolog: ${file} cannot be used: it is not valid JSON (truncated?), and session.log has no session_start line to rebuild it from\n`;

    const status = await runCli(['status'], box);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toBe(expected);
    const transcribe = await runCli(['transcribe', 'lost'], box);
    expect(transcribe.code).toBe(1);
    expect(transcribe.stderr).toBe(expected);
  });

  it.concurrent(
    'transcribe of a finished session whose session.json was truncated rebuilds it, transcribes, and writes it whole again',
    async () => {
      const box = sandbox();
      expect(
        (await runCli(['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--session-id', 'done'], box)).code,
      ).toBe(0);
      const dir = path.join(box.recordings, 'done');
      const file = path.join(dir, 'session.json');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 40));

      const result = await runCli(['transcribe', 'done', '--engine', 'pocketsphinx'], box);
      expect(result.code, result.stderr).toBe(0);
      noStack(result.stderr);
      expect(result.stderr).toContain(`echolog: ${file} was unreadable (it is not valid JSON (truncated?)); rebuilt it`);
      expect(result.stdout).toMatch(/^done: transcribed 2 chunks with pocketsphinx/);
      expect(readManifestSync(dir)).toMatchObject({
        session_id: 'done',
        status: 'completed',
        stop_reason: 'duration_reached',
        stats: { chunks: 2 },
      });
      expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    },
  );
});

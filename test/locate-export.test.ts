import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStartTicks } from '../src/process/process-identity.js';
import { parseWavHeader, wavDurationSeconds } from '../src/recorder/wav-header.js';
import { readChunks } from '../src/store/session-chunks.js';
import { checkExportTarget, exportAudio, mergeTranscripts, writeTranscriptExport } from '../src/sessions/session-export.js';
import { expectStopLast, isAlive, readManifestSync } from './helpers/chunks.js';
import { readSessionLog, runCli, sandboxPool, SINE, type Sandbox } from './helpers/cli.js';

/**
 * Issue 16 §3 with real symlinks (to a folder owned by another uid), real processes and a real
 * full disk (a 64 KiB tmpfs): every command finds a session folder by one rule, recovery and
 * export never write through something they did not make, and the lock is judged the same way by
 * `status` and `record`.
 */
const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const NOBODY = 65534;
const pool = sandboxPool();
const children: ChildProcess[] = [];
const mounts: string[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of mounts) spawnSync('umount', ['-l', dir]);
  pool.cleanup();
});

const deadPid = (): number => spawnSync('true').pid!;
const oneLine = (text: string) => expect(text).toMatch(/^echolog: [^\n]+\n$/);
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const lockFile = (box: Sandbox) => path.join(box.recordings, '.active-session.json');

function startSleep(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

async function record(box: Sandbox, id: string, extra: string[] = []): Promise<string> {
  const result = await runCli(
    ['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--session-id', id, ...extra],
    box,
  );
  expect(result.code, result.stderr).toBe(0);
  return path.join(box.recordings, id);
}

/** A real session, then left as an echolog killed mid-recording leaves it: `recording`, its pid dead, no session_stop. */
async function crashed(box: Sandbox, id: string, withLock: boolean): Promise<string> {
  const dir = await record(box, id);
  const pid = deadPid();
  const manifest = readManifestSync(dir) as unknown as Record<string, unknown>;
  fs.writeFileSync(
    path.join(dir, 'session.json'),
    JSON.stringify({ ...manifest, status: 'recording', pid, pid_start_ticks: null, stop_reason: null, ended_at: null }),
  );
  const log = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
  fs.writeFileSync(
    path.join(dir, 'session.log'),
    log
      .split('\n')
      .filter((line) => !line.includes(' session_stop '))
      .join('\n'),
  );
  if (withLock) fs.writeFileSync(lockFile(box), JSON.stringify({ session_id: id, pid }));
  return dir;
}

/** A folder of another account's, outside the recordings dir, that looks like a session that is recording. */
function foreignBait(box: Sandbox): { dir: string; listing: () => string[]; text: string } {
  const dir = path.join(box.root, 'theirs');
  fs.mkdirSync(dir);
  const text = JSON.stringify({
    session_id: 'evil',
    status: 'recording',
    pid: deadPid(),
    started_at: new Date().toISOString(),
    stats: { chunks: 0 },
  });
  fs.writeFileSync(path.join(dir, 'session.json'), text);
  fs.chownSync(dir, NOBODY, NOBODY);
  fs.chownSync(path.join(dir, 'session.json'), NOBODY, NOBODY);
  return { dir, text, listing: () => fs.readdirSync(dir).sort() };
}

describe('one rule for a session folder: a real folder of yours directly inside the recordings dir', () => {
  it.concurrent.each([
    ['status', ['status']],
    ['record', ['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'next']],
  ])(
    "a stale lock naming a symlink to another account's folder: %s says it will not recover it, in one line, and writes nothing there",
    async (_who, command) => {
      const box = pool.sandbox();
      await record(box, 'first');
      const bait = foreignBait(box);
      fs.symlinkSync(bait.dir, path.join(box.recordings, 'evil'));
      fs.writeFileSync(lockFile(box), JSON.stringify({ session_id: 'evil', pid: deadPid() }));

      const result = await runCli(command, box);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe(
        `echolog: not recovering session evil: ${path.join(box.recordings, 'evil')} is not a session folder (it is a symlink)\n`,
      );
      expect(bait.listing()).toEqual(['session.json']);
      expect(fs.readFileSync(path.join(bait.dir, 'session.json'), 'utf8')).toBe(bait.text);
      if (command[0] === 'record') expectStopLast(readSessionLog(path.join(box.recordings, 'next')), 'duration_reached');
      else expect(fs.existsSync(lockFile(box))).toBe(false);
    },
  );

  it.concurrent(
    'show, export, delete and transcribe refuse the symlinked id in one line, exit 2; a real folder of another uid is refused too',
    async () => {
      const box = pool.sandbox();
      await record(box, 'first');
      const bait = foreignBait(box);
      const link = path.join(box.recordings, 'evil');
      fs.symlinkSync(bait.dir, link);
      for (const command of [
        ['sessions', 'show', 'evil'],
        ['sessions', 'export', 'evil', '--transcript', path.join(box.root, 'out.txt')],
        ['sessions', 'delete', 'evil', '--yes'],
        ['transcribe', 'evil'],
      ]) {
        const result = await runCli(command, box);
        expect(result.code, command.join(' ')).toBe(2);
        expect(result.stderr).toBe(`echolog: ${link} is not a session folder (it is a symlink)\n`);
      }
      expect(bait.listing()).toEqual(['session.json']);
      expect(fs.existsSync(path.join(box.root, 'out.txt'))).toBe(false);

      // transcribe takes an id as its siblings do: a path (even to a real session) and an unknown id exit 2.
      for (const session of [path.join(box.recordings, 'first'), 'nosuch']) {
        const refused = await runCli(['transcribe', session, '--engine', 'pocketsphinx'], box);
        expect(refused.code, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(session === 'nosuch' ? /^echolog: no session nosuch in / : /^echolog: ".*" is not a session id/);
      }
      const byId = await runCli(['transcribe', 'first', '--engine', 'pocketsphinx'], box);
      expect(byId.code, byId.stderr).toBe(0);
      expect(byId.stdout).toMatch(/^first: transcribed 2 chunks with pocketsphinx/);

      const owned = path.join(box.recordings, 'owned');
      fs.cpSync(path.join(box.recordings, 'first'), owned, { recursive: true });
      fs.chownSync(owned, NOBODY, NOBODY);
      const show = await runCli(['sessions', 'show', 'owned'], box);
      expect(show.code).toBe(2);
      expect(show.stderr).toBe(`echolog: ${owned} is not a session folder of yours (it is owned by uid ${NOBODY})\n`);
    },
  );
});

describe('a lock naming an unrelated live process: status and record agree, from pid + start time + command line', () => {
  it.concurrent.each([
    ['with its real start time', (pid: number) => ({ pid_start_ticks: readStartTicks(pid) })],
    ['without a start time (an older lock)', () => ({})],
  ])('%s: status says not recording and recovers the session; record then records', async (_case, ticks) => {
    const box = pool.sandbox();
    const sleeper = startSleep();
    const dir = await crashed(box, 'ghost', false);
    fs.writeFileSync(lockFile(box), JSON.stringify({ session_id: 'ghost', pid: sleeper, ...ticks(sleeper) }));

    const status = await runCli(['status'], box);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^not recording\nlast session: ghost \(interrupted\)/);
    expect(readManifestSync(dir)).toMatchObject({ status: 'interrupted' });
    fs.writeFileSync(lockFile(box), JSON.stringify({ session_id: 'ghost', pid: sleeper, ...ticks(sleeper) }));
    const record = await runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'after'], box);
    expect(record.code, record.stderr).toBe(0);
    expect(record.stderr).not.toContain('already recording');
    expect(isAlive(sleeper)).toBe(true);
  });
});

describe('a session left `recording` whose lock was removed by hand after its echolog died', () => {
  it.concurrent.each([
    ['status', ['status']],
    ['sessions list', ['sessions', 'list', '--json']],
    ['sessions show', ['sessions', 'show', 'orphan', '--json']],
    ['record', ['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'later']],
  ])('is recovered by %s: interrupted, session_stop last', async (who, command) => {
    const box = pool.sandbox();
    const dir = await crashed(box, 'orphan', false);
    // An older, finished session after it: the orphan is not the last one (status once only looked there).
    await record(box, 'newer');
    expect(fs.existsSync(lockFile(box))).toBe(false);

    const result = await runCli(command, box);
    expect(result.code, result.stderr).toBe(0);
    expect(readManifestSync(dir)).toMatchObject({ status: 'interrupted', stop_reason: 'interrupted' });
    expectStopLast(readSessionLog(dir), 'interrupted');
    if (who === 'sessions list') {
      const listed = JSON.parse(result.stdout) as { sessions: Array<{ id: string; status: string }> };
      expect(listed.sessions.find((s) => s.id === 'orphan')?.status).toBe('interrupted');
    }
    if (who === 'sessions show') expect(JSON.parse(result.stdout)).toMatchObject({ status: 'interrupted' });
  });
});

describe('sessions export never writes into the recordings dir, and fails in one line', () => {
  it.concurrent(
    'a recordings dir whose path holds a newline: the chunks are joined whole (the concat list names them through the folder descriptor)',
    async () => {
      const box = pool.sandbox();
      const odd = path.join(box.root, 'rec\nordings');
      const result = await runCli(
        ['record', ...LAVFI, '--duration', '2', '--segment-time', '1', '--no-realtime', '--session-id', 'nl', '--recordings-dir', odd],
        box,
      );
      expect(result.code, result.stderr).toBe(0);
      const out = path.join(box.home, 'all.wav');
      const exported = await runCli(['sessions', 'export', 'nl', '--audio', out, '--recordings-dir', odd], box);
      expect(exported.code, exported.stderr).toBe(0);
      // Export checks a joined WAV against its chunks; here, all 2 s of them are in it.
      expect(wavDurationSeconds(parseWavHeader(fs.readFileSync(out)))).toBeCloseTo(2, 2);
    },
  );

  it.concurrent(
    "--force onto the session's own chunk, into its folder, into the recordings dir, or there through a symlink: exit 2, the recording untouched",
    async () => {
      const box = pool.sandbox();
      const dir = await record(box, 'keep');
      const chunk = path.join(dir, 'chunk_00001.wav');
      const before = sha(chunk);
      const around = path.join(box.root, 'around');
      fs.symlinkSync(dir, around);
      for (const target of [chunk, path.join(dir, 'new.wav'), path.join(box.recordings, 'all.wav'), path.join(around, 'chunk_00002.wav')]) {
        const result = await runCli(['sessions', 'export', 'keep', '--audio', target, '--force'], box);
        expect(result.code, target).toBe(2);
        expect(result.stderr).toBe(
          `echolog: ${target} is inside the recordings dir ${box.recordings}: an export never writes into a session folder or the recordings dir (not even with --force); choose a file elsewhere\n`,
        );
      }
      const transcript = await runCli(['sessions', 'export', 'keep', '--transcript', path.join(dir, 'transcript.txt'), '--force'], box);
      expect(transcript.code).toBe(2);
      expect(sha(chunk)).toBe(before);
      expect(fs.readdirSync(dir).filter((name) => /\.tmp$|new\.wav/.test(name))).toEqual([]);
      expect(fs.existsSync(path.join(box.recordings, 'all.wav'))).toBe(false);
    },
  );

  it.concurrent(
    'the folder judged is the folder written: a symlink to the session folder swapped in on the path after the check gets nothing',
    async () => {
      const box = pool.sandbox();
      const dir = await record(box, 'keep');
      const listing = fs.readdirSync(dir);
      const out = path.join(box.root, 'out');
      fs.mkdirSync(out);
      const audio = await checkExportTarget(path.join(out, 'all.wav'), box.recordings, false);
      const transcript = await checkExportTarget(path.join(out, 'all.txt'), box.recordings, false);
      try {
        // Between the check and the writes, `out` becomes a symlink into the session folder.
        const judged = path.join(box.root, 'judged');
        fs.renameSync(out, judged);
        fs.symlinkSync(dir, out);
        const chunks = await readChunks(
          dir,
          new Date((JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as { started_at: string }).started_at),
        );
        expect(chunks.length).toBeGreaterThan(0);
        await exportAudio({ ffmpegPath: 'ffmpeg', chunks, format: 'wav', target: audio });
        await writeTranscriptExport(
          transcript,
          mergeTranscripts([{ lines: [], offsetSeconds: 0 }], { sessionId: 'keep', language: 'en', duration: 2 }),
          'txt',
        );
        expect(fs.readdirSync(dir)).toEqual(listing);
        expect(fs.readdirSync(judged).sort()).toEqual(['all.txt', 'all.wav']);
      } finally {
        await audio.close();
        await transcript.close();
      }
    },
  );

  it.concurrent('the output is a folder, or its folder is missing: one line, exit 1, nothing written', async () => {
    const box = pool.sandbox();
    await record(box, 'keep');
    const folder = path.join(box.root, 'a-folder.wav');
    fs.mkdirSync(folder);
    const asFolder = await runCli(['sessions', 'export', 'keep', '--audio', folder, '--force'], box);
    expect(asFolder.code).toBe(1);
    expect(asFolder.stderr).toBe(`echolog: cannot export to ${folder}: it is a folder; name a file in it; nothing was exported\n`);
    expect(fs.readdirSync(folder)).toEqual([]);
    const missing = path.join(box.root, 'nowhere', 'out.srt');
    const noFolder = await runCli(['sessions', 'export', 'keep', '--transcript', missing], box);
    expect(noFolder.code).toBe(1);
    expect(noFolder.stderr).toBe(
      `echolog: cannot export to ${missing}: its folder ${path.dirname(missing)} does not exist; nothing was exported\n`,
    );
  });

  it.concurrent(
    'a full disk (a 64 KiB tmpfs) while writing the transcript or the audio: one line, exit 1, no file and no temp file left',
    async () => {
      const box = pool.sandbox();
      await record(box, 'keep');
      const disk = path.join(box.root, 'small');
      fs.mkdirSync(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
      mounts.push(disk);
      try {
        // Fill it: the next page-sized write fails with ENOSPC.
        const filler = fs.openSync(path.join(disk, 'filler'), 'w');
        try {
          for (let i = 0; i < 64; i++) fs.writeSync(filler, Buffer.alloc(4096, 1));
        } catch (error) {
          expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
        } finally {
          fs.closeSync(filler);
        }
        const transcript = path.join(disk, 'out.json');
        const result = await runCli(['sessions', 'export', 'keep', '--transcript', transcript], box);
        expect(result.code).toBe(1);
        oneLine(result.stderr);
        expect(result.stderr).toBe(`echolog: could not write ${transcript}: the disk is full (ENOSPC); nothing was written there\n`);
        const audio = path.join(disk, 'out.wav');
        const joined = await runCli(['sessions', 'export', 'keep', '--audio', audio], box);
        expect(joined.code).toBe(1);
        oneLine(joined.stderr);
        expect(joined.stderr).not.toMatch(/\n\s+at |this is a bug/);
        expect(fs.readdirSync(disk)).toEqual(['filler']);
      } finally {
        spawnSync('umount', [disk]);
      }
    },
  );
});

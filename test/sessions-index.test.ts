import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indexSessions, INDEX_DIR, parseIndex } from '../src/sessions/session-index.js';
import type { SessionKey } from '../src/sessions/session-query.js';

// The index on real folders: what it caches must always agree with what is on disk.
let root: string;
let recordings: string;
const indexFile = (): string => path.join(recordings, INDEX_DIR, 'index.json');
/** Well past the racy window: the recordings dir's mtime is older than 2 s. */
const later = (): Date => new Date(Date.now() + 10_000);

function writeSession(id: string, startedAt: string, resumedFrom: string | null = null): void {
  fs.mkdirSync(path.join(recordings, id), { recursive: true });
  const manifest = {
    session_id: id,
    status: 'completed',
    pid: 10,
    ffmpeg_pid: null,
    started_at: startedAt,
    log_level: 'info',
    sample_rate: 16000,
    channels: 1,
    resumed_from: resumedFrom,
    stats: { chunks: 0, audio_duration_seconds: 0, utterance_count: 0, word_count: 0 },
  };
  fs.writeFileSync(path.join(recordings, id, 'session.json'), JSON.stringify(manifest));
}

async function index(now = later()): Promise<SessionKey[]> {
  const found = await indexSessions(recordings, { now, fallback: async () => undefined });
  return found.sort((a, b) => (a.id < b.id ? -1 : 1));
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-index-'));
  recordings = path.join(root, 'recordings');
  fs.mkdirSync(recordings);
  writeSession('a', '2026-11-20T10:00:00.000Z');
  writeSession('b', '2026-11-21T10:00:00.000Z', 'a');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the sessions index', () => {
  it('lists each session folder once, with its start and resumed_from, and writes itself into its own folder', async () => {
    const expected = [
      { id: 'a', started_ms: Date.parse('2026-11-20T10:00:00.000Z'), resumed_from: null },
      { id: 'b', started_ms: Date.parse('2026-11-21T10:00:00.000Z'), resumed_from: 'a' },
    ];
    expect(await index()).toEqual(expected.map((e) => expect.objectContaining(e)));
    expect(fs.existsSync(indexFile())).toBe(true);
    // Served from the index now, with the same answer.
    expect(await index()).toEqual(expected.map((e) => expect.objectContaining(e)));
  });

  it('while the listing is unchanged the folders are not read: the cached facts are used', async () => {
    await index();
    await index();
    // Proof that the second answer came from the index: a session.json edited in place (the
    // listing does not change) is not re-read. started_at never changes for a real session.
    const file = path.join(recordings, 'a', 'session.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('2026-11-20', '2020-01-01'));
    expect((await index()).find((s) => s.id === 'a')!.started_ms).toBe(Date.parse('2026-11-20T10:00:00.000Z'));
  });

  it('a new folder, a deleted one and one made again under the same name are all seen', async () => {
    await index();
    await index();
    writeSession('c', '2026-11-22T10:00:00.000Z');
    fs.rmSync(path.join(recordings, 'b'), { recursive: true });
    expect((await index()).map((s) => s.id)).toEqual(['a', 'c']);
    fs.rmSync(path.join(recordings, 'a'), { recursive: true });
    writeSession('a', '2026-12-01T00:00:00.000Z');
    expect((await index()).find((s) => s.id === 'a')!.started_ms).toBe(Date.parse('2026-12-01T00:00:00.000Z'));
  });

  it('a listing read less than 2 s after it changed is not trusted next time (racy, as in git)', async () => {
    await index(new Date());
    expect(parseIndex(fs.readFileSync(indexFile(), 'utf8'))!.listing).toBeNull();
    await index();
    expect(parseIndex(fs.readFileSync(indexFile(), 'utf8'))!.listing).toMatch(/^\d+:\d+$/);
  });

  it('a folder without a readable session.json is not cached: it is looked at until it is whole', async () => {
    fs.mkdirSync(path.join(recordings, 'new'));
    await index();
    await index();
    expect((await index()).map((s) => s.id)).toEqual(['a', 'b']);
    // The listing did not change, but the folder is now a session.
    writeSession('new', '2026-11-23T10:00:00.000Z');
    expect((await index()).map((s) => s.id)).toEqual(['a', 'b', 'new']);
  });

  it('an index that is garbage or names paths is ignored and rebuilt from the folders', async () => {
    await index();
    await index();
    const valid = fs.readFileSync(indexFile(), 'utf8');
    expect(valid).toMatch(/^echolog sessions index 1\nlisting \d+:\d+\nunsettled\n\d+ b a \d+:\d+\n\d+ a - \d+:\d+\n$/);
    const folderOfA = /^\d+ a - (\S+)$/m.exec(valid)![1]!;
    // Each would be used as is if the index were trusted: its listing still matches the folders.
    for (const forged of [
      `${valid}1 ../x - ${folderOfA}\n`,
      valid.replace(/^(\d+) a - /m, '$1 a ../../etc '),
      valid.replace('unsettled', 'unsettled ../y'),
      valid.replace(/^\d+ a/m, 'soon a'),
      valid.replace(/\n$/, ' extra\n'),
      'not an index',
      '',
    ]) {
      fs.writeFileSync(indexFile(), forged);
      expect(
        (await index()).map((s) => `${s.id}<${s.resumed_from}`),
        forged,
      ).toEqual(['a<null', 'b<a']);
    }
  });

  it('symlinks and names that are not session ids are not sessions', async () => {
    const outside = path.join(root, 'outside');
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(recordings, 'link'));
    fs.mkdirSync(path.join(recordings, '.hidden'));
    expect((await index()).map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('a read-only recordings dir still lists (the index is a cache)', async () => {
    // A read-only bind mount: file modes do not stop root, a read-only file system does.
    const readOnly = path.join(root, 'ro');
    fs.mkdirSync(readOnly);
    execFileSync('mount', ['--bind', recordings, readOnly]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', readOnly]);
      const found = await indexSessions(readOnly, { now: later(), fallback: async () => undefined });
      expect(found.map((s) => s.id).sort()).toEqual(['a', 'b']);
      expect(fs.existsSync(path.join(recordings, INDEX_DIR))).toBe(false);
    } finally {
      execFileSync('umount', [readOnly]);
    }
  });
});

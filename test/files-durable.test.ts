import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileDurable, writeFileDurable, writeJsonDurable } from '../src/files/durable-write.js';

/** Real files; the full disk is a real 64 KiB tmpfs (tests run as root). */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-durable-'));
const full = path.join(root, 'full');
fs.mkdirSync(full);
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
afterAll(() => {
  execFileSync('umount', [full]);
  fs.rmSync(root, { recursive: true, force: true });
});

const tempFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));

describe('writeFileDurable', () => {
  it('replaces the file whole, private (0600), and leaves no temp file', async () => {
    const file = path.join(root, 'a.json');
    fs.writeFileSync(file, 'old');
    await writeJsonDurable(file, { a: 1 });
    expect(fs.readFileSync(file, 'utf8')).toBe('{\n  "a": 1\n}\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(tempFiles(root)).toEqual([]);
  });

  it('a full disk (ENOSPC): rejects, the old file is intact, no temp file is left', async () => {
    const file = path.join(full, 'session.json');
    fs.writeFileSync(file, 'old');
    await expect(writeFileDurable(file, 'x'.repeat(1024 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(tempFiles(full)).toEqual([]);
  });

  it('a failed rename (the target is a directory): rejects, no temp file is left', async () => {
    const dir = path.join(root, 'is-a-dir');
    fs.mkdirSync(path.join(dir, 'x'), { recursive: true });
    await expect(writeFileDurable(dir, 'text')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(tempFiles(root)).toEqual([]);
  });

  it('a folder that does not exist: rejects with ENOENT', async () => {
    await expect(writeFileDurable(path.join(root, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('createFileDurable (the lock)', () => {
  it('creates the file whole; a second create rejects with EEXIST and changes nothing', async () => {
    const file = path.join(root, 'lock.json');
    await createFileDurable(file, 'first\n');
    await expect(createFileDurable(file, 'second\n')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(file, 'utf8')).toBe('first\n');
    expect(tempFiles(root)).toEqual([]);
  });

  it('two creates at once in one process: exactly one wins', async () => {
    const file = path.join(root, 'race.json');
    const results = await Promise.allSettled([createFileDurable(file, 'a'), createFileDurable(file, 'b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(['a', 'b']).toContain(fs.readFileSync(file, 'utf8'));
    expect(tempFiles(root)).toEqual([]);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDownloadProgress, pullModel } from '../src/cli/models-command.js';
import { downloadVerified, ModelChecksumError, ModelDownloadError, partPathFor, type DownloadProgress } from '../src/models/download.js';

/**
 * The downloader against a real HTTP server on 127.0.0.1 that serves a generated file and
 * honours Range requests; each test says how the next response should misbehave.
 */
const BODY = randomBytes(1024 * 1024 + 123);
const SHA256 = createHash('sha256').update(BODY).digest('hex');

type Mode = 'normal' | 'drop-half' | 'ignore-range';
let mode: Mode = 'normal';
const seen: { url: string; range?: string }[] = [];
let server: http.Server;
let base: string;
let tmp: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', range: req.headers.range });
    const current = mode;
    mode = 'normal';
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = match && current !== 'ignore-range' ? Number(match[1]) : 0;
    if (start >= BODY.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${BODY.length}` }).end();
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'Content-Length': BODY.length - start, 'Content-Type': 'application/octet-stream' };
    if (start > 0) headers['Content-Range'] = `bytes ${start}-${BODY.length - 1}/${BODY.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (current === 'drop-half') {
      // Send half in pieces, then cut the connection as a flaky network would.
      const half = Math.floor(BODY.length / 2);
      const sendPiece = (): void => {
        if (start >= half) {
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        const end = Math.min(half, start + 64 * 1024);
        res.write(BODY.subarray(start, end), sendPiece);
        start = end;
      };
      sendPiece();
      return;
    }
    res.end(BODY.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-models-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  seen.length = 0;
  mode = 'normal';
});

const dest = (name: string): string => path.join(tmp, name, 'ggml-test.bin');

describe('downloadVerified', () => {
  it('downloads with progress, verifies sha256 and moves the file into place', async () => {
    const progress: DownloadProgress[] = [];
    const result = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('fresh'),
      sha256: SHA256,
      sizeBytes: BODY.length,
      onProgress: (p) => progress.push(p),
    });

    expect(fs.readFileSync(dest('fresh')).equals(BODY)).toBe(true);
    expect(fs.existsSync(partPathFor(dest('fresh')))).toBe(false);
    expect(result).toMatchObject({ bytes: BODY.length, sha256: SHA256, resumedFromBytes: 0, httpStatus: 200 });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toEqual({ receivedBytes: BODY.length, totalBytes: BODY.length, resumedFromBytes: 0 });
    const received = progress.map((p) => p.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(seen).toEqual([{ url: '/ggml-test.bin', range: undefined }]);
  });

  it('takes the total from Content-Length when the size is not known', async () => {
    const progress: DownloadProgress[] = [];
    await downloadVerified({ url: `${base}/x`, destination: dest('nosize'), sha256: SHA256, onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)?.totalBytes).toBe(BODY.length);
  });

  it('on a checksum mismatch: a clear error, and neither the file nor the .part is left', async () => {
    const wrong = '0'.repeat(64);
    const error = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('mismatch'),
      sha256: wrong,
      sizeBytes: BODY.length,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelChecksumError);
    expect((error as Error).message).toContain('checksum mismatch for ggml-test.bin');
    expect((error as Error).message).toContain(`expected sha256 ${wrong}, got ${SHA256}`);
    expect((error as Error).message).toContain('nothing was installed');
    expect(fs.readdirSync(path.dirname(dest('mismatch')))).toEqual([]);
  });

  it('a body longer than the known size is refused and deleted', async () => {
    const error = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('long'),
      sha256: SHA256,
      sizeBytes: 1000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelChecksumError);
    expect((error as Error).message).toContain('longer than the expected 1000 bytes');
    expect(fs.readdirSync(path.dirname(dest('long')))).toEqual([]);
  });

  it('resumes a dropped download with a Range request', async () => {
    mode = 'drop-half';
    const first = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('resume'),
      sha256: SHA256,
      sizeBytes: BODY.length,
    }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ModelDownloadError);
    expect(first).not.toBeInstanceOf(ModelChecksumError);
    expect((first as Error).message).toMatch(/interrupted after \d+ of \d+ bytes .*run the same command again to resume/);
    const partBytes = fs.statSync(partPathFor(dest('resume'))).size;
    expect(partBytes).toBeGreaterThan(0);
    expect(partBytes).toBeLessThan(BODY.length);
    expect(fs.existsSync(dest('resume'))).toBe(false);

    const progress: DownloadProgress[] = [];
    const second = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('resume'),
      sha256: SHA256,
      sizeBytes: BODY.length,
      onProgress: (p) => progress.push(p),
    });

    expect(seen.map((s) => s.range)).toEqual([undefined, `bytes=${partBytes}-`]);
    expect(second).toMatchObject({ resumedFromBytes: partBytes, httpStatus: 206, bytes: BODY.length });
    expect(progress[0]).toMatchObject({ receivedBytes: partBytes, resumedFromBytes: partBytes });
    expect(fs.readFileSync(dest('resume')).equals(BODY)).toBe(true);
    expect(fs.existsSync(partPathFor(dest('resume')))).toBe(false);
  });

  it('starts over when the server ignores the Range header', async () => {
    fs.mkdirSync(path.dirname(dest('ignored')), { recursive: true });
    fs.writeFileSync(partPathFor(dest('ignored')), BODY.subarray(0, 1000));
    mode = 'ignore-range';
    const result = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('ignored'),
      sha256: SHA256,
      sizeBytes: BODY.length,
    });
    expect(seen.map((s) => s.range)).toEqual(['bytes=1000-']);
    expect(result.httpStatus).toBe(200);
    expect(fs.readFileSync(dest('ignored')).equals(BODY)).toBe(true);
  });

  it('a complete .part is verified without a request', async () => {
    fs.mkdirSync(path.dirname(dest('complete')), { recursive: true });
    fs.writeFileSync(partPathFor(dest('complete')), BODY);
    const result = await downloadVerified({
      url: `${base}/ggml-test.bin`,
      destination: dest('complete'),
      sha256: SHA256,
      sizeBytes: BODY.length,
    });
    expect(seen).toEqual([]);
    expect(result.httpStatus).toBeUndefined();
    expect(fs.existsSync(dest('complete'))).toBe(true);
  });

  it('an HTTP error names the URL and status', async () => {
    const closed = http.createServer((_req, res) => res.writeHead(404, 'Not Found').end());
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/ggml-missing.bin`;
    const error = await downloadVerified({ url, destination: dest('404'), sha256: SHA256 }).catch((e: unknown) => e);
    await new Promise((resolve) => closed.close(resolve));
    expect(error).toBeInstanceOf(ModelDownloadError);
    expect((error as Error).message).toBe(`download failed: GET ${url} answered 404 Not Found`);
  });
});

describe('pullModel', () => {
  it('downloads from ECHOLOG_MODELS_BASE_URL into the XDG cache, and refuses bytes that are not the model', async () => {
    const cache = path.join(tmp, 'xdg-cache');
    const surroundings = {
      env: { XDG_CACHE_HOME: cache, ECHOLOG_MODELS_BASE_URL: `${base}/mirror/` },
      home: path.join(tmp, 'home'),
      cwd: tmp,
    };
    const error = await pullModel({ name: 'tiny.en' }, surroundings).catch((e: unknown) => e);

    expect(seen.map((s) => s.url)).toEqual(['/mirror/ggml-tiny.en.bin']);
    // The served file is shorter than tiny.en: the transfer "ended early", kept as .part to resume.
    const models = path.join(cache, 'echolog', 'models');
    expect(error).toBeInstanceOf(ModelDownloadError);
    expect((error as Error).message).toMatch(/ended early after 1048699 of 77704715 bytes; run the same command again to resume/);
    expect(fs.readdirSync(models)).toEqual(['ggml-tiny.en.bin.part']);

    // Pulling again resumes past the server's end (416), and the checksum refuses what is there: nothing left.
    const again = await pullModel({ name: 'tiny.en' }, surroundings).catch((e: unknown) => e);
    expect(seen.map((s) => s.range)).toEqual([undefined, 'bytes=1048699-']);
    expect(again).toBeInstanceOf(ModelChecksumError);
    expect((again as Error).message).toContain('checksum mismatch for ggml-tiny.en.bin');
    expect(fs.readdirSync(models)).toEqual([]);
  });

  it('does nothing when the model is already in the cache', async () => {
    const cache = path.join(tmp, 'xdg-present');
    const dir = path.join(cache, 'echolog', 'models');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'ggml-base.en.bin'), 'x');
    const result = await pullModel(
      { name: 'base.en' },
      { env: { XDG_CACHE_HOME: cache, ECHOLOG_MODELS_BASE_URL: base }, home: tmp, cwd: tmp },
    );
    expect(result).toMatchObject({ alreadyPresent: true, path: path.join(dir, 'ggml-base.en.bin') });
    expect(seen).toEqual([]);
  });
});

describe('download progress output', () => {
  it('prints a plain line per 10 % when not on a terminal, and says when it resumes', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding: string, callback: () => void) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        callback();
      },
    });
    const progress = createDownloadProgress('tiny.en', stream);
    const total = 100 * 1024 * 1024;
    for (let received = 30 * 1024 * 1024; received <= total; received += 1024 * 1024) {
      progress.onProgress({ receivedBytes: received, totalBytes: total, resumedFromBytes: 30 * 1024 * 1024 });
    }
    progress.stop();
    expect(lines[0]).toBe('Resuming tiny.en from 30.0 MiB');
    expect(lines.slice(1)).toEqual(
      [3, 4, 5, 6, 7, 8, 9, 10].map((d) => `Downloading tiny.en: ${(d * 10).toFixed(1)} MiB of 100.0 MiB (${d * 10}%)`),
    );
  });
});

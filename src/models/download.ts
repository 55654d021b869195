import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EchologError } from '../errors.js';
import { makeDirectories } from '../files/make-directories.js';

/** A download failed in a way worth retrying: what is on disk is kept as `<file>.part` for the next try to resume. */
export class ModelDownloadError extends EchologError {}

/** The bytes are not the file we asked for: nothing is kept, neither the final file nor the `.part`. */
export class ModelChecksumError extends ModelDownloadError {}

export interface DownloadProgress {
  /** Bytes on disk so far, including those resumed from the `.part` file. */
  receivedBytes: number;
  totalBytes?: number;
  /** Bytes already in the `.part` file when this download started (0 for a fresh one). */
  resumedFromBytes: number;
}

export interface DownloadOptions {
  url: string;
  /** Final path; the download goes to `<destination>.part` and is renamed into place once verified. */
  destination: string;
  sha256: string;
  /** Known size: used for progress, to detect a too-long body early, and to skip a request when the `.part` is complete. */
  sizeBytes?: number;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  resumedFromBytes: number;
  /** The status of the request that finished the download; undefined when the `.part` was already complete. */
  httpStatus?: number;
}

export function partPathFor(destination: string): string {
  return `${destination}.part`;
}

/**
 * HTTP(S) GET into `<destination>.part`, resuming it with a Range request when it exists,
 * hashing as it goes; on a sha256 match it is renamed into place (atomic on one file system),
 * on a mismatch the `.part` is deleted. An interrupted transfer keeps the `.part` for the next try.
 */
export async function downloadVerified(options: DownloadOptions): Promise<DownloadResult> {
  const { url, destination, sizeBytes } = options;
  const part = partPathFor(destination);
  await makeDirectories(path.dirname(destination), 0o777);

  let offset = await fileSize(part);
  if (sizeBytes !== undefined && offset > sizeBytes) {
    await fsp.rm(part, { force: true });
    offset = 0;
  }
  let hash = createHash('sha256');
  if (offset > 0) await hashFileInto(part, hash);
  const resumedFromBytes = offset;

  let httpStatus: number | undefined;
  if (sizeBytes === undefined || offset < sizeBytes) {
    const response = await request(url, offset, options.signal);
    httpStatus = response.status;
    if (response.status === 416 && offset > 0) {
      // "Range Not Satisfiable": the .part already holds the whole file (or is junk); the checksum decides.
      await response.body?.cancel();
    } else {
      if (!response.ok) {
        await response.body?.cancel();
        throw new ModelDownloadError(`download failed: GET ${url} answered ${response.status} ${response.statusText}`.trim());
      }
      if (offset > 0 && (response.status !== 206 || contentRangeStart(response.headers.get('content-range')) !== offset)) {
        // The server ignored or misread our Range header: start over rather than append the wrong bytes.
        offset = 0;
        hash = createHash('sha256');
      }
      const length = Number(response.headers.get('content-length'));
      const totalBytes = sizeBytes ?? (Number.isFinite(length) && length > 0 ? offset + length : undefined);
      offset = await receiveBody(response, {
        part,
        append: offset > 0,
        offset,
        hash,
        totalBytes,
        sizeBytes,
        url,
        options,
        resumedFromBytes,
      });
    }
  }

  const digest = hash.digest('hex');
  if (digest !== options.sha256.toLowerCase()) {
    await fsp.rm(part, { force: true });
    throw new ModelChecksumError(
      `checksum mismatch for ${path.basename(destination)} from ${url}: expected sha256 ${options.sha256}, got ${digest} ` +
        `(${offset} bytes); the download was deleted and nothing was installed`,
    );
  }
  await syncFile(part);
  await fsp.rename(part, destination);
  return { path: destination, bytes: offset, sha256: digest, resumedFromBytes, httpStatus };
}

async function request(url: string, offset: number, signal: AbortSignal | undefined): Promise<Response> {
  try {
    return await fetch(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, redirect: 'follow', signal });
  } catch (error) {
    throw new ModelDownloadError(`download failed: could not reach ${url}: ${describeCause(error)}`);
  }
}

interface ReceiveState {
  part: string;
  append: boolean;
  offset: number;
  hash: Hash;
  totalBytes?: number;
  sizeBytes?: number;
  url: string;
  options: DownloadOptions;
  resumedFromBytes: number;
}

/** Streams the body to the `.part` file through the hash; returns the bytes now on disk. */
async function receiveBody(response: Response, state: ReceiveState): Promise<number> {
  let received = state.offset;
  const report = (): void =>
    state.options.onProgress?.({ receivedBytes: received, totalBytes: state.totalBytes, resumedFromBytes: state.resumedFromBytes });
  report();
  if (!response.body) return received;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (state.sizeBytes !== undefined && received > state.sizeBytes) {
        callback(new ModelChecksumError(`download of ${state.url} is longer than the expected ${state.sizeBytes} bytes`));
        return;
      }
      state.hash.update(chunk);
      report();
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      counter,
      fs.createWriteStream(state.part, { flags: state.append ? 'a' : 'w' }),
    );
  } catch (error) {
    if (error instanceof ModelChecksumError) {
      await fsp.rm(state.part, { force: true });
      throw new ModelChecksumError(`${error.message}; the download was deleted and nothing was installed`);
    }
    const onDisk = await fileSize(state.part);
    throw new ModelDownloadError(
      `download of ${state.url} was interrupted after ${onDisk}${state.totalBytes ? ` of ${state.totalBytes}` : ''} bytes ` +
        `(${describeCause(error)}); run the same command again to resume`,
    );
  }
  if (state.sizeBytes !== undefined && received < state.sizeBytes) {
    throw new ModelDownloadError(
      `download of ${state.url} ended early after ${received} of ${state.sizeBytes} bytes; run the same command again to resume`,
    );
  }
  return received;
}

/** The first byte of `Content-Range: bytes 100-199/200`, or undefined. */
export function contentRangeStart(header: string | null): number | undefined {
  const match = header ? /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/i.exec(header.trim()) : null;
  return match ? Number(match[1]) : undefined;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

async function hashFileInto(file: string, hash: Hash): Promise<void> {
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
}

async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** undici wraps the socket error in `cause`; the user wants the inner one (ECONNREFUSED, "other side closed"). */
function describeCause(error: unknown): string {
  const outer = error as { message?: string; cause?: { code?: string; message?: string } };
  const inner = outer?.cause;
  if (inner?.code && inner.message) return `${inner.code}: ${inner.message}`;
  if (inner?.message) return inner.message;
  return outer?.message ?? String(error);
}

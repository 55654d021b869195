import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import busboy from 'busboy';
import type { AddressInfo } from 'node:net';

/**
 * A server of the OpenAI audio transcription API of the tests' own, on 127.0.0.1 only, following
 * the documented contract: `POST /v1/audio/transcriptions` (multipart: file, model, language,
 * prompt, response_format json | text | verbose_json, timestamp_granularities[]), `GET /v1/models`,
 * bearer auth, error bodies `{"error":{"message":…}}`. Faults are scripted per request.
 */
export interface OpenAiServerOptions {
  /** Bearer key it wants; undefined: no auth (as many local servers). */
  apiKey?: string;
  models?: string[];
  /** false: refuses verbose_json with a 400, as a plain server might. */
  verboseJson?: boolean;
  /** Word timestamps when asked for (verbose_json + timestamp_granularities[]=word). */
  words?: boolean;
  /**
   * Model names it transcribes with but does not list in `GET /v1/models`: speaches maps `whisper-1`
   * to a model of its own (speaches-ai/speaches model_aliases.json) and lists only local models
   * (src/speaches/routers/models.py, "TODO: should model aliases be listed?").
   */
  aliases?: string[];
  /** false: no `GET /v1/models` route (whisper.cpp's server has none): 404. */
  modelsRoute?: boolean;
  /** Fixed time before every answer. */
  delayMs?: number;
  /** Text of an upload (a 16 kHz mono WAV on disk). Default: pocketsphinx_continuous, so the words are real. */
  transcribe?: (file: string, upload: ReceivedUpload) => Promise<string>;
  /**
   * The verbose_json of a real server other than OpenAI's, read from its source:
   * - `whisper.cpp`: whisper.cpp's examples/server/server.cpp (ggml-org/whisper.cpp 233fe1f). It reads
   *   no `model` and no `timestamp_granularities[]`; with verbose_json it turns token timestamps on,
   *   so whisper_full wraps segments at its default max_len of 60 characters on a token boundary,
   *   mid-word (src/whisper.cpp, whisper_wrap_segment, split_on_word false), and lists each
   *   segment's tokens as its "words" (" leis", "ure"). Errors are `{"error":"…"}`.
   * - `localai`: LocalAI's core/http/endpoints/openai/transcription.go with core/schema/transcription.go
   *   (mudler/LocalAI 82c191a): words inside their segment, each with its text under `text`, not `word`.
   */
  dialect?: 'whisper.cpp' | 'localai';
}

/** A scripted answer for the next request(s): a status with headers and body, or no answer at all. */
export type Fault = { status: number; body?: string; headers?: Record<string, string> } | { hang: true };

export interface ReceivedUpload {
  fields: Record<string, string[]>;
  authorization: string | undefined;
  fileName: string;
  fileBytes: number;
  sampleRate: number;
  channels: number;
  durationSeconds: number;
  /** Milliseconds since the server started, when the request arrived and when it was answered. */
  receivedAt: number;
  answeredAt?: number;
  /** The body of a 200 answer. */
  answer?: string;
}

export interface OpenAiServer {
  url: string;
  port: number;
  uploads: ReceivedUpload[];
  /** The most requests in flight at once so far. */
  maxInFlight: number;
  /** Answers the next requests with these faults, in order, before transcribing again. */
  fail(...faults: Fault[]): void;
  /** Stops listening (the port then refuses) and ends every open request. */
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** pocketsphinx_continuous on the upload: its hypothesis lines, joined. */
export async function pocketsphinxText(file: string): Promise<string> {
  const { stdout } = await execFileAsync('pocketsphinx_continuous', ['-infile', file, '-logfn', '/dev/null'], { timeout: 60_000 });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/** Starts the server; `port` reuses a port (the same server "back" after an outage). */
export async function startOpenAiServer(options: OpenAiServerOptions = {}, port = 0): Promise<OpenAiServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-openai-server-'));
  const started = Date.now();
  const faults: Fault[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const hung = new Set<http.ServerResponse>();
  let inFlight = 0;
  let count = 0;
  const state = { uploads: [] as ReceivedUpload[], maxInFlight: 0 };
  const models = options.models ?? ['whisper-1'];
  const transcribe = options.transcribe ?? ((file: string) => pocketsphinxText(file));

  const sendError = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify(
        options.dialect === 'whisper.cpp'
          ? { error: message }
          : { error: { message, type: 'invalid_request_error', param: null, code: null } },
      ),
    );
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      req.resume();
      sendError(res, 401, req.headers.authorization ? 'Incorrect API key provided.' : "You didn't provide an API key.");
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/models' && options.modelsRoute !== false && options.dialect !== 'whisper.cpp') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) }));
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/audio/transcriptions') {
      req.resume();
      // whisper.cpp's error handler: a plain-text 404 for any other route (server.cpp, set_error_handler).
      if (options.dialect === 'whisper.cpp')
        return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`File Not Found (${url.pathname})`);
      sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
      return;
    }
    if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      sendError(res, 400, 'Expected multipart/form-data');
      return;
    }
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const fields: Record<string, string[]> = {};
    const file = path.join(dir, `upload-${++count}.wav`);
    let fileName = '';
    let fileSeen: Promise<void> | undefined;
    const parser = busboy({ headers: req.headers, limits: { fileSize: 64 * 1024 * 1024 } });
    parser.on('field', (name, value) => (fields[name] ??= []).push(value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') return void stream.resume();
      fileName = info.filename ?? '';
      const out = fs.createWriteStream(file);
      fileSeen = new Promise((resolve, reject) => out.on('finish', resolve).on('error', reject));
      stream.pipe(out);
    });
    parser.on('close', () => void answer().catch((error: Error) => sendError(res, 500, error.message)));
    req.pipe(parser);

    async function answer(): Promise<void> {
      await fileSeen;
      const upload: ReceivedUpload = {
        fields,
        authorization: req.headers.authorization,
        fileName,
        fileBytes: 0,
        sampleRate: 0,
        channels: 0,
        durationSeconds: 0,
        receivedAt: Date.now() - started,
      };
      if (!fileSeen) return sendError(res, 400, "Missing required parameter: 'file'.");
      const model = fields.model?.[0];
      if (!model && options.dialect !== 'whisper.cpp') return sendError(res, 400, "Missing required parameter: 'model'.");
      if (model && !models.includes(model) && !options.aliases?.includes(model) && options.dialect !== 'whisper.cpp')
        return sendError(res, 404, `The model \`${model}\` does not exist or you do not have access to it.`);
      const format = fields.response_format?.[0] ?? 'json';
      if (!['json', 'text', 'verbose_json'].includes(format) || (format === 'verbose_json' && options.verboseJson === false)) {
        return sendError(res, 400, `response_format '${format}' is not supported`);
      }
      const header = readWavHeader(file);
      Object.assign(upload, { fileBytes: fs.statSync(file).size, ...header });
      state.uploads.push(upload);
      const fault = faults.shift();
      if (fault && 'hang' in fault) {
        hung.add(res);
        return;
      }
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(fault.body ?? JSON.stringify({ error: { message: `scripted ${fault.status}` } }));
        return;
      }
      const text = await transcribe(file, upload);
      fs.rmSync(file, { force: true });
      upload.answeredAt = Date.now() - started;
      if (format === 'text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end(`${text}\n`);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (format === 'json') return void res.end(JSON.stringify({ text }));
      const wantWords = options.words !== false && (fields['timestamp_granularities[]'] ?? []).includes('word');
      const d = upload.durationSeconds;
      const list = text ? text.split(/\s+/) : [];
      const words = list.map((word, i) => ({ word, start: (i * d) / list.length, end: ((i + 1) * d) / list.length }));
      upload.answer = JSON.stringify(
        options.dialect === 'whisper.cpp'
          ? { task: 'transcribe', language: 'english', duration: d, text: ` ${text}\n`, segments: whisperCppSegments(words) }
          : options.dialect === 'localai'
            ? {
                text,
                language: fields.language?.[0] ?? '',
                duration: d,
                segments: [
                  {
                    id: 0,
                    start: 0,
                    end: d,
                    text: ` ${text}`,
                    tokens: [],
                    ...(wantWords ? { words: words.map((w) => ({ start: w.start, end: w.end, text: ` ${w.word}` })) } : {}),
                  },
                ],
              }
            : {
                task: 'transcribe',
                language: fields.language?.[0] ?? 'english',
                duration: d,
                text,
                segments: text
                  ? [
                      {
                        id: 0,
                        seek: 0,
                        start: 0,
                        end: d,
                        text: ` ${text}`,
                        tokens: [],
                        temperature: 0,
                        avg_logprob: -0.2,
                        compression_ratio: 1,
                        no_speech_prob: 0.01,
                      },
                    ]
                  : [],
                ...(wantWords ? { words } : {}),
              },
      );
      res.end(upload.answer);
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/v1`,
    port: actual,
    get uploads() {
      return state.uploads;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    fail: (...more) => faults.push(...more),
    close: async () => {
      for (const res of hung) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * whisper.cpp's verbose_json segments for these words: each word as tokens (pieces of 3 letters, the
 * first led by a space), segments cut once the next token would pass 60 characters.
 */
function whisperCppSegments(words: Array<{ word: string; start: number; end: number }>) {
  const tokens = words.flatMap((w) => {
    const pieces = Array.from({ length: Math.ceil(w.word.length / 3) }, (_, i) => w.word.slice(i * 3, i * 3 + 3));
    const step = (w.end - w.start) / pieces.length;
    return pieces.map((piece, i) => ({ word: i === 0 ? ` ${piece}` : piece, start: w.start + i * step, end: w.start + (i + 1) * step }));
  });
  const segments: Array<{ id: number; text: string; start: number; end: number; words: typeof tokens }> = [];
  for (const token of tokens) {
    const last = segments.at(-1);
    if (last && last.text.length + token.word.length <= 60) {
      last.text += token.word;
      last.end = token.end;
      last.words.push(token);
    } else {
      segments.push({ id: segments.length, text: token.word, start: token.start, end: token.end, words: [token] });
    }
  }
  return segments;
}

/** A port nothing listens on (bound, then released): connections to it are refused. */
export async function refusedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function readWavHeader(file: string): { sampleRate: number; channels: number; durationSeconds: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n < 44 || head.toString('ascii', 0, 4) !== 'RIFF') return { sampleRate: 0, channels: 0, durationSeconds: 0 };
    let at = 12;
    let channels = 0;
    let sampleRate = 0;
    let byteRate = 1;
    while (at + 8 <= n) {
      const id = head.toString('ascii', at, at + 4);
      const size = head.readUInt32LE(at + 4);
      if (id === 'fmt ') {
        channels = head.readUInt16LE(at + 10);
        sampleRate = head.readUInt32LE(at + 12);
        byteRate = head.readUInt32LE(at + 16);
      }
      if (id === 'data') return { sampleRate, channels, durationSeconds: Math.round((size / byteRate) * 1000) / 1000 };
      at += 8 + size + (size % 2);
    }
    return { sampleRate, channels, durationSeconds: 0 };
  } finally {
    fs.closeSync(fd);
  }
}

import path from 'node:path';
import type { EchologConfig } from '../../config/schema.js';
import type { LogFields } from '../../logging/line-format.js';
import type { EngineChunk, TranscriptionEngine, TranscriptSegment } from './engine.js';
import { uploadAudioOf, type UploadAudio } from './openai-audio.js';
import { OpenAiClient, OpenAiRequestError } from './openai-client.js';
import { parseTranscription, promptTail, RESPONSE_FORMATS } from './openai-response.js';
import { openAiSettings, type OpenAiSettings } from './openai-settings.js';

export interface OpenAiEngineOptions {
  settings: OpenAiSettings;
}

/** Head room for reading (or ffmpeg decoding) the chunk's audio into the upload file. */
const AUDIO_PREPARE_MS = 5000;
/** Chunk texts kept for prompts (and prompt sources for the log): more than the most in flight (16). */
const KEPT_CHUNKS = 32;

/**
 * Engine `openai`: each chunk is one `POST {base_url}/audio/transcriptions` to any server of that
 * API (vLLM, speaches, whisper.cpp's server, LocalAI, OpenAI, Groq). Stateless per chunk, so the
 * queue keeps `concurrency` chunks in flight.
 *
 * The prompt is the tail of the latest earlier chunk's text already back, so a sentence cut at a
 * chunk boundary reads on. One at a time, or recording at real time (a 10 s chunk closes long
 * after the one before was answered), that is the previous chunk's. Only with a backlog several in
 * flight (--no-realtime, `echolog transcribe`, catching up after an outage) may a prompt come from
 * an earlier chunk: waiting for the previous text would send the requests one by one and lose
 * what concurrency is for. chunk_transcribed says which chunk it was (`prompt_from`).
 */
export class OpenAiEngine implements TranscriptionEngine {
  readonly name = 'openai';
  /** What every server of the API reads; the queue decodes other recordings to it. */
  readonly audioFormat = { sampleRate: 16000 };
  readonly model: string;
  readonly concurrency: number;
  readonly attemptTimeoutMs: number;
  private readonly client: OpenAiClient;
  /** The best response format this server accepted (a server that refuses one is not asked again). */
  private formatIndex = 0;
  /** Prompt tails of the latest chunks answered, by seq. */
  private readonly tails = new Map<number, string>();
  /** Which chunk's tail each chunk was sent with, until its chunk_transcribed line asks. */
  private readonly promptSources = new Map<number, number>();
  private stopping = new AbortController();

  constructor(options: OpenAiEngineOptions) {
    this.model = options.settings.model;
    this.concurrency = options.settings.concurrency;
    this.attemptTimeoutMs = options.settings.timeoutMs + AUDIO_PREPARE_MS;
    this.client = new OpenAiClient(options.settings);
  }

  /** Nothing to load but Node's own fetch: a server that is down costs a failed chunk, never the recording. */
  async start(): Promise<void> {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    // Node loads fetch (undici) on first use; paid here, beside the capture, not on the first chunk's way.
    await fetch('data:,').catch(() => undefined);
  }

  async transcribe(chunk: EngineChunk): Promise<TranscriptSegment[]> {
    const audio = await this.audioOf(chunk);
    try {
      const source = chunk.standalone ? undefined : this.promptSource(chunk.seq);
      const prompt = source === undefined ? '' : this.tails.get(source)!;
      for (let index = this.formatIndex; ; index++) {
        const format = RESPONSE_FORMATS[index]!;
        try {
          const answer = await this.client.transcribe({ audio, format, prompt, signal: this.stopping.signal });
          this.formatIndex = Math.max(this.formatIndex, index);
          const segments = parseTranscription(answer.body, answer.contentType, chunk);
          if (!chunk.standalone) keep(this.tails, chunk.seq, promptTail(segments.map((s) => s.text).join(' ')));
          if (source !== undefined) keep(this.promptSources, chunk.seq, source);
          return segments;
        } catch (error) {
          // A server that does not know verbose_json (or word timestamps) refuses the request: ask for less.
          const refused = error instanceof OpenAiRequestError && (error.status === 400 || error.status === 422);
          if (!refused || index + 1 >= RESPONSE_FORMATS.length) throw error;
        }
      }
    } finally {
      await audio.dispose();
    }
  }

  /** The chunk's 16 kHz mono pieces as the request's `file`, named after the chunk for the server's logs. */
  private audioOf(chunk: EngineChunk): Promise<UploadAudio> {
    return uploadAudioOf(chunk.audio(), this.audioFormat.sampleRate, `${path.parse(chunk.path).name}.wav`);
  }

  /** The latest chunk before `seq` whose text is back (and not empty): its tail is the prompt. */
  private promptSource(seq: number): number | undefined {
    let best: number | undefined;
    for (const [earlier, tail] of this.tails) if (earlier < seq && tail && (best === undefined || earlier > best)) best = earlier;
    return best;
  }

  /** `prompt_from`: the chunk whose text was this chunk's prompt (none: no earlier text). */
  chunkFields(seq: number): LogFields {
    const source = this.promptSources.get(seq);
    this.promptSources.delete(seq);
    return source === undefined ? {} : { prompt_from: source };
  }

  async flush(): Promise<TranscriptSegment[]> {
    return [];
  }

  /** Aborts the requests in flight (the session's drain gave up on them). */
  async close(): Promise<void> {
    this.stopping.abort();
  }
}

/** Sets `key` in a map that keeps only the KEPT_CHUNKS highest keys. */
function keep<V>(map: Map<number, V>, key: number, value: V): void {
  map.set(key, value);
  if (map.size > KEPT_CHUNKS) map.delete(Math.min(...map.keys()));
}

/** The engine for a config: its settings. */
export function createOpenAiEngine(config: EchologConfig, env: NodeJS.ProcessEnv): OpenAiEngine {
  return new OpenAiEngine({ settings: openAiSettings(config, env) });
}

import path from 'node:path';
import type { EchologConfig } from '../config/schema.js';
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

/**
 * Engine `openai`: each chunk is one `POST {base_url}/audio/transcriptions` to any server of that
 * API (vLLM, speaches, whisper.cpp's server, LocalAI, OpenAI, Groq). Stateless per chunk, so the
 * queue keeps `concurrency` chunks in flight; the prompt is the tail of the latest earlier
 * chunk's text, so a sentence cut at a chunk boundary reads on.
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
  private prompt = { seq: -1, text: '' };
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
      const prompt = chunk.seq > this.prompt.seq ? this.prompt.text : '';
      for (let index = this.formatIndex; ; index++) {
        const format = RESPONSE_FORMATS[index]!;
        try {
          const answer = await this.client.transcribe({ audio, format, prompt, signal: this.stopping.signal });
          this.formatIndex = Math.max(this.formatIndex, index);
          const segments = parseTranscription(answer.body, answer.contentType, chunk);
          this.notePrompt(chunk.seq, segments);
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

  private notePrompt(seq: number, segments: readonly TranscriptSegment[]): void {
    if (seq <= this.prompt.seq) return;
    this.prompt = { seq, text: promptTail(segments.map((s) => s.text).join(' ')) };
  }

  async flush(): Promise<TranscriptSegment[]> {
    return [];
  }

  /** Aborts the requests in flight (the session's drain gave up on them). */
  async close(): Promise<void> {
    this.stopping.abort();
  }
}

/** The engine for a config: its settings. */
export function createOpenAiEngine(config: EchologConfig, env: NodeJS.ProcessEnv): OpenAiEngine {
  return new OpenAiEngine({ settings: openAiSettings(config, env) });
}

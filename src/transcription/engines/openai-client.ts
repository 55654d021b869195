import { displayUrl, type OpenAiSettings } from './openai-settings.js';
import { errorMessage, retryAfterMs, type ResponseFormat } from './openai-response.js';
import type { UploadAudio } from './openai-audio.js';

/**
 * A failed request, classified for the queue: `retryable` (429, 5xx, timeouts, refused or reset
 * connections; `retryAfterMs` when the server said how long to wait) or not (401/403/404 and
 * other refusals no retry fixes). The message names the URL and never holds the key.
 */
export class OpenAiRequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'OpenAiRequestError';
  }
}

export interface TranscriptionRequest {
  audio: UploadAudio;
  format: ResponseFormat;
  /** The tail of the text before this chunk ('' for none). */
  prompt: string;
  /** Aborts the request (the engine closing). */
  signal?: AbortSignal;
}

export interface ServerAnswer {
  body: string;
  contentType: string;
}

/** An answer larger than this is not a transcription of one chunk: refused rather than held. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * The client: Node's own fetch and FormData (no dependency, nothing to load for `status`). The
 * official `openai` package would add its own retries and timeouts under the queue's, hiding the
 * status codes and Retry-After waits the session log must show; one request here is one attempt.
 */
export class OpenAiClient {
  constructor(private readonly settings: OpenAiSettings) {}

  get transcriptionsUrl(): string {
    return `${this.settings.baseUrl}/audio/transcriptions`;
  }

  async transcribe(request: TranscriptionRequest): Promise<ServerAnswer> {
    const form = new FormData();
    form.append('file', request.audio.blob, request.audio.filename);
    form.append('model', this.settings.model);
    if (this.settings.language) form.append('language', this.settings.language);
    form.append('response_format', request.format === 'json' ? 'json' : 'verbose_json');
    if (request.format === 'verbose_json+words') {
      form.append('timestamp_granularities[]', 'segment');
      form.append('timestamp_granularities[]', 'word');
    }
    if (request.prompt) form.append('prompt', request.prompt);
    return this.send(this.transcriptionsUrl, { method: 'POST', body: form }, request.signal);
  }

  /** `GET /models`: the ids the server serves (what `echolog doctor` checks the model against). */
  async models(signal?: AbortSignal): Promise<string[]> {
    const answer = await this.send(`${this.settings.baseUrl}/models`, { method: 'GET' }, signal);
    try {
      const parsed = JSON.parse(answer.body) as { data?: Array<{ id?: unknown }> };
      return (parsed.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
    } catch {
      throw new OpenAiRequestError(`GET ${displayUrl(this.settings.baseUrl)}/models did not answer with JSON`, false);
    }
  }

  private async send(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<ServerAnswer> {
    const shown = displayUrl(url);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json, text/plain' };
    if (this.settings.apiKey) headers.authorization = `Bearer ${this.settings.apiKey}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, { ...init, headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      body = await readCapped(response);
    } catch (error) {
      throw this.transportError(error as Error, shown, timeout.aborted);
    }
    if (response.ok) return { body, contentType: response.headers.get('content-type') ?? '' };
    const status = response.status;
    const said = this.redact(errorMessage(body));
    const prefix = `HTTP ${status} from ${init.method} ${shown}: ${said}`;
    if (status === 429 || status === 408 || status >= 500) {
      throw new OpenAiRequestError(prefix, true, status, retryAfterMs(response.headers, Date.now()));
    }
    throw new OpenAiRequestError(`${prefix}; ${this.whatToCheck(status)}`, false, status);
  }

  private whatToCheck(status: number): string {
    const keyVar = `$${this.settings.apiKeyEnv}`;
    if (status === 401)
      return this.settings.apiKey
        ? `check the key in ${keyVar}`
        : `the server wants a key: set ${keyVar} (or transcription.openai.api_key_env)`;
    if (status === 403) return `check that the key in ${keyVar} may use model ${this.settings.model}`;
    if (status === 404)
      return `check transcription.openai.base_url / $OPENAI_BASE_URL (it usually ends in /v1) and transcription.openai.model (${this.settings.model})`;
    return `check transcription.openai.model (${this.settings.model}) and transcription.language`;
  }

  private transportError(error: Error, shown: string, timedOut: boolean): OpenAiRequestError {
    if (error instanceof OpenAiRequestError) return error;
    if (timedOut)
      return new OpenAiRequestError(
        `no answer from ${shown} within ${Math.round(this.settings.timeoutMs / 1000)} s (transcription.openai.timeout)`,
        true,
      );
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? error.message;
    return new OpenAiRequestError(`cannot reach ${shown}: ${this.redact(why)}`, true);
  }

  /** A server may echo the key in its message (OpenAI masks it, others may not). */
  private redact(text: string): string {
    const key = this.settings.apiKey;
    return key.length >= 4 ? text.split(key).join('***') : text;
  }
}

/** The body as text, up to MAX_BODY_BYTES. */
async function readCapped(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const pieces: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new OpenAiRequestError(`the answer from ${displayUrl(response.url)} is larger than ${MAX_BODY_BYTES} bytes`, false);
    }
    pieces.push(value);
  }
  return Buffer.concat(pieces).toString('utf8');
}

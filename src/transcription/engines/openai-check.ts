import { pcmWavHeader } from '../../recorder/wav-header.js';
import { OpenAiClient, OpenAiRequestError } from './openai-client.js';
import { displayUrl, type OpenAiSettings } from './openai-settings.js';

/** What `echolog doctor` found of the endpoint: each step, and the first that failed. */
export interface EndpointCheck {
  ok: boolean;
  /** e.g. "reachable, key accepted, model whisper-1 served" or the step that failed, with why. */
  detail: string;
  fix?: string;
}

/** How long doctor waits for each request. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * Checks the server as the engine will use it: reachable, key accepted, model known. `GET /models`
 * first; a model it does not list, or a server without that route (whisper.cpp's), is asked to
 * transcribe 0.5 s of silence: speaches takes `whisper-1` as an alias it never lists
 * (speaches-ai/speaches model_aliases.json; src/speaches/routers/models.py lists local models only).
 */
export async function checkEndpoint(settings: OpenAiSettings): Promise<EndpointCheck> {
  const client = new OpenAiClient({ ...settings, timeoutMs: Math.min(settings.timeoutMs, CHECK_TIMEOUT_MS) });
  const url = displayUrl(settings.baseUrl);
  const model = settings.model;
  let listed: string[] | undefined;
  try {
    listed = await client.models();
    if (listed.includes(model)) return { ok: true, detail: `${url}: reachable, key accepted, model ${model} served` };
  } catch (error) {
    const failed = failure(error, url, settings);
    if (failed || (error as OpenAiRequestError).status !== 404) return failed ?? unexpected(error, url);
  }
  try {
    await client.transcribe({ audio: silence(), format: 'json', prompt: '' });
    const found = listed
      ? `model ${model} is not among the models it lists (an alias?), but it transcribed 0.5 s of silence`
      : `model ${model} transcribed 0.5 s of silence (the server lists no models)`;
    return { ok: true, detail: `${url}: reachable, key accepted, ${found}` };
  } catch (error) {
    const failed = failure(error, url, settings);
    if (failed) return failed;
    const status = (error as OpenAiRequestError).status;
    if (listed && (status === 404 || status === 400)) {
      const list = listed.length > 0 ? listed.slice(0, 10).join(', ') : 'none';
      return {
        ok: false,
        detail: `${url}: reachable, key accepted, but model ${model} is not among its models (${list})`,
        fix: 'set transcription.openai.model (or --model) to one the server serves',
      };
    }
    if (status === 404 || status === 400) {
      return {
        ok: false,
        detail: `${url}: reachable, key accepted, but a 0.5 s transcription with model ${model} was refused: ${(error as Error).message}`,
        fix: 'check transcription.openai.model and that the base URL ends where /audio/transcriptions is served (usually /v1)',
      };
    }
    return unexpected(error, url);
  }
}

/** Unreachable or key refused: the steps before the model. */
function failure(error: unknown, url: string, settings: OpenAiSettings): EndpointCheck | undefined {
  if (!(error instanceof OpenAiRequestError)) return undefined;
  if (error.status === undefined) {
    return {
      ok: false,
      detail: `${url}: not reachable: ${error.message}`,
      fix: 'start the server, or point transcription.openai.base_url / $OPENAI_BASE_URL at it',
    };
  }
  if (error.status === 401 || error.status === 403) {
    return {
      ok: false,
      detail: `${url}: reachable, but the key was refused (HTTP ${error.status})`,
      fix: settings.apiKey
        ? `check the key in $${settings.apiKeyEnv}`
        : `set $${settings.apiKeyEnv} (or name another variable in transcription.openai.api_key_env)`,
    };
  }
  return undefined;
}

function unexpected(error: unknown, url: string): EndpointCheck {
  return { ok: false, detail: `${url}: reachable, but it answered: ${(error as Error).message}` };
}

/** 0.5 s of 16 kHz mono silence as a WAV (16 KB in memory). */
function silence() {
  const samples = 8000;
  const wav = Buffer.concat([pcmWavHeader(16000, 1, samples * 2), Buffer.alloc(samples * 2)]);
  return { blob: new Blob([wav], { type: 'audio/wav' }), filename: 'silence.wav', dispose: async () => undefined };
}

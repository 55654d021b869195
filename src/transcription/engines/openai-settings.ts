import type { EchologConfig } from '../../config/schema.js';

/** Where the official SDK looks when no base URL is given. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** What the `openai` engine needs to talk to a server; the key stays out of every message. */
export interface OpenAiSettings {
  /** Without a trailing slash, e.g. `http://gpu:8000/v1`. */
  baseUrl: string;
  model: string;
  /** ISO-639-1 code, or '' to let the server detect it. */
  language: string;
  /** '' when the variable is unset: local servers often need none (no Authorization header is sent). */
  apiKey: string;
  /** The variable the key came from, for messages ("check OPENAI_API_KEY"). */
  apiKeyEnv: string;
  concurrency: number;
  timeoutMs: number;
}

/**
 * The engine's settings from the config and the environment, as the official SDK reads them:
 * transcription.openai.base_url, else $OPENAI_BASE_URL, else OpenAI's own; the key from the
 * variable transcription.openai.api_key_env names (default OPENAI_API_KEY). Pure.
 */
export function openAiSettings(config: EchologConfig, env: NodeJS.ProcessEnv): OpenAiSettings {
  const o = config.transcription.openai;
  const baseUrl = (o.base_url || env.OPENAI_BASE_URL || OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  return {
    baseUrl,
    model: o.model,
    language: config.transcription.language,
    apiKey: env[o.api_key_env] ?? '',
    apiKeyEnv: o.api_key_env,
    concurrency: o.concurrency,
    timeoutMs: o.timeout * 1000,
  };
}

/** A URL as messages may show it: no user:password part (a key can hide there too). Pure. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/+$/, '');
  } catch {
    return url;
  }
}

/** Why these settings cannot work (a base URL that is not http(s), a variable name that is not one), or undefined. Pure. */
export function openAiSettingsProblem(settings: OpenAiSettings, env: NodeJS.ProcessEnv): string | undefined {
  // Not echoed: a key pasted here by mistake must not reach the screen or a log.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(settings.apiKeyEnv))
    return 'transcription.openai.api_key_env must be the name of an environment variable (letters, digits, _), not the key itself';
  let protocol = '';
  try {
    protocol = new URL(settings.baseUrl).protocol;
  } catch {
    // not a URL
  }
  if (protocol === 'http:' || protocol === 'https:') return undefined;
  const from =
    env.OPENAI_BASE_URL && settings.baseUrl === env.OPENAI_BASE_URL.replace(/\/+$/, '')
      ? '$OPENAI_BASE_URL'
      : 'transcription.openai.base_url';
  return `${from} ${JSON.stringify(displayUrl(settings.baseUrl))} is not an http(s) URL (e.g. http://gpu-server:8000/v1)`;
}

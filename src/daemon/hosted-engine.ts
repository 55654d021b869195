import type { EchologConfig } from '../config/schema.js';
import { TranscriptionError, UsageError } from '../errors.js';
import type { TranscriptionEngine } from '../transcription/engines/engine.js';
import { resolveEngine, type EngineDeps, defaultEngineDeps } from '../transcription/engines/resolve-engine.js';

export const HOSTED_ENGINES = ['pocketsphinx', 'whisper', 'openai'] as const;
export type HostedEngineName = (typeof HOSTED_ENGINES)[number];

/** `--engine` of `echolog daemon start`: one of HOSTED_ENGINES, or undefined for the config's choice. Pure. */
export function parseHostedEngine(value: string | undefined): HostedEngineName | undefined {
  if (value === undefined) return undefined;
  if ((HOSTED_ENGINES as readonly string[]).includes(value)) return value as HostedEngineName;
  throw new UsageError(`--engine ${JSON.stringify(value)} is not allowed for the daemon: expected one of ${HOSTED_ENGINES.join(', ')}`);
}

/**
 * The engine the daemon keeps loaded: the one asked for, else the config's if it is one the
 * daemon can host, else whisper when its model is present, else pocketsphinx (never openai unasked:
 * it sends the audio off this machine). It gets each request's audio in its own format (the daemon
 * converts it). Rejects with why not.
 */
export async function createHostedEngine(
  config: EchologConfig,
  env: NodeJS.ProcessEnv,
  asked: HostedEngineName | undefined,
  model: string | undefined,
  deps: EngineDeps = defaultEngineDeps,
): Promise<TranscriptionEngine> {
  const fromConfig = parseHostedEngineOrUndefined(config.transcription.engine);
  const candidates: HostedEngineName[] = asked ? [asked] : fromConfig ? [fromConfig] : ['whisper', 'pocketsphinx'];
  const reasons: string[] = [];
  for (const name of candidates) {
    const hosted: EchologConfig = {
      ...config,
      // --model names a whisper model, or for openai the server's model.
      transcription:
        name === 'openai'
          ? {
              ...config.transcription,
              engine: name,
              openai: { ...config.transcription.openai, model: model ?? config.transcription.openai.model },
            }
          : { ...config.transcription, engine: name, model: model ?? config.transcription.model },
    };
    const resolution = await resolveEngine(hosted, env, deps);
    if (resolution.kind === 'engine') return resolution.create();
    reasons.push(resolution.reason);
  }
  throw new TranscriptionError(`the daemon has no engine to load: ${reasons.join('; ')}`);
}

function parseHostedEngineOrUndefined(value: string): HostedEngineName | undefined {
  return (HOSTED_ENGINES as readonly string[]).includes(value) ? (value as HostedEngineName) : undefined;
}

import type { DottedValues } from './dotted-keys.js';

/** The ECHOLOG_* variables a user can set, and the (string-valued) config key each one overrides. */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  ECHOLOG_RECORDINGS_DIR: 'recordings_dir',
  ECHOLOG_FFMPEG: 'ffmpeg.path',
  ECHOLOG_LOG_LEVEL: 'logging.level',
  ECHOLOG_LOG_ROTATION: 'logging.rotation',
  ECHOLOG_ENGINE: 'transcription.engine',
  ECHOLOG_MODEL: 'transcription.model',
};

/** Reads the config overrides out of an environment. Pure: pass `process.env` or a test's own. */
export function envOverrides(env: NodeJS.ProcessEnv): DottedValues {
  const out: DottedValues = {};
  for (const [variable, key] of Object.entries(ENV_KEYS)) {
    const raw = env[variable];
    if (raw !== undefined && raw !== '') out[key] = raw;
  }
  return out;
}

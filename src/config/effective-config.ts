import type { DottedValues } from './dotted-keys.js';
import { envOverrides } from './env-overrides.js';
import { loadConfigFile } from './load-config-file.js';
import { resolveConfig, type ResolvedConfig } from './resolve-config.js';

export interface EffectiveConfigOptions {
  /** --config */
  configPath?: string;
  /** Dotted keys set by flags. */
  flags: DottedValues;
  /** Dotted key → flag name, for error messages. */
  flagNames?: Record<string, string>;
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  /** Told about each config file the search skipped as untrusted. */
  warn?: (message: string) => void;
}

/** The config in force: flags over ECHOLOG_* over the config file over defaults. */
export async function loadEffectiveConfig(options: EffectiveConfigOptions): Promise<ResolvedConfig> {
  const file = await loadConfigFile({
    explicitPath: options.configPath,
    cwd: options.cwd,
    home: options.home,
    env: options.env,
    warn: options.warn,
  });
  const layers = { file, env: envOverrides(options.env), flags: options.flags, flagNames: options.flagNames };
  const resolved = resolveConfig(layers);
  // `--model` names the server's model for engine openai (transcription.openai.model), a whisper model otherwise.
  const model = options.flags['transcription.model'];
  if (resolved.config.transcription.engine !== 'openai' || model === undefined) return resolved;
  const { 'transcription.model': _whisper, ...flags } = options.flags;
  const flagNames = { ...options.flagNames, 'transcription.openai.model': options.flagNames?.['transcription.model'] ?? '--model' };
  return resolveConfig({ ...layers, flags: { ...flags, 'transcription.openai.model': model }, flagNames });
}

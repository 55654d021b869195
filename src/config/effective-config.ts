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
  const file = await loadConfigFile({ explicitPath: options.configPath, cwd: options.cwd, home: options.home, env: options.env, warn: options.warn });
  return resolveConfig({ file, env: envOverrides(options.env), flags: options.flags, flagNames: options.flagNames });
}

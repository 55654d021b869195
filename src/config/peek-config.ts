import { ConfigError } from '../errors.js';
import { unknownConfigKeys } from './config-keys.js';
import { flattenToDotted } from './dotted-keys.js';
import type { EffectiveConfigOptions } from './effective-config.js';
import { envOverrides } from './env-overrides.js';
import { loadConfigFile, type ConfigFile } from './load-config-file.js';
import type { ConfigSource } from './resolve-config.js';

/**
 * The few string keys a quick command needs (`status`: where the recordings are, which ffmpeg), by the
 * same precedence as the full config (flags over ECHOLOG_* over the file over defaults) but without
 * the zod schema, whose import alone costs about as much as Node's own start. Only these keys are
 * checked; the commands that use the rest (`record`, `config`) validate everything.
 */
export const PEEKABLE_DEFAULTS = { recordings_dir: '~/recordings', 'ffmpeg.path': '', 'transcription.daemon_ipc_root': '' } as const;
export type PeekableKey = keyof typeof PEEKABLE_DEFAULTS;

export interface PeekedValue {
  value: string;
  source: ConfigSource;
}

export type PeekedConfig = Record<PeekableKey, PeekedValue>;

export async function peekConfig(options: EffectiveConfigOptions): Promise<PeekedConfig> {
  const file = await loadConfigFile({
    explicitPath: options.configPath,
    cwd: options.cwd,
    home: options.home,
    env: options.env,
    warn: options.warn,
  });
  // Only the peeked keys are used here, but a misspelt key is said (record, config and doctor refuse it).
  const unknown = file ? unknownConfigKeys(Object.keys(flattenToDotted(file.values))) : [];
  if (file && unknown.length > 0) {
    options.warn?.(
      `config file ${file.path}: unknown key${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (echolog config names the keys; record refuses this file)`,
    );
  }
  return peekLayers({ file, env: envOverrides(options.env), flags: options.flags });
}

/** Pure: the winning layer's value of each peekable key; a non-string (or empty recordings_dir) is a ConfigError. */
export function peekLayers(layers: { file?: ConfigFile; env: Record<string, unknown>; flags: Record<string, unknown> }): PeekedConfig {
  const fileValues = layers.file ? flattenToDotted(layers.file.values) : {};
  const peeked = {} as PeekedConfig;
  for (const [key, fallback] of Object.entries(PEEKABLE_DEFAULTS) as Array<[PeekableKey, string]>) {
    // A key written with no value (YAML null) is unset, as in resolveConfig.
    const candidates: Array<[ConfigSource, unknown, string]> = [
      ['flag', layers.flags[key], `option for ${key}`],
      ['env', layers.env[key], `environment value of ${key}`],
      ['file', fileValues[key], `config file ${layers.file?.path}: ${key}`],
    ];
    const found = candidates.find(([, value]) => value !== undefined && value !== null);
    if (!found) {
      peeked[key] = { value: fallback, source: 'default' };
      continue;
    }
    const [source, value, where] = found;
    if (typeof value !== 'string' || (key === 'recordings_dir' && value === '')) {
      throw new ConfigError(
        `${where}: ${JSON.stringify(value)} is not allowed: expected ${key === 'recordings_dir' ? 'a non-empty string' : 'a string'}`,
      );
    }
    peeked[key] = { value, source };
  }
  return peeked;
}

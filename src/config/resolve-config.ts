import { z } from 'zod';
import { ConfigError, UsageError } from '../errors.js';
import { configSchema, DEFAULT_CONFIG, type EchologConfig } from './schema.js';
import { flattenToDotted, isPlainObject, setDotted, type DottedValues } from './dotted-keys.js';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export interface ConfigLayers {
  /** The parsed config file, if one was found. */
  file?: { path: string; values: unknown };
  /** Dotted key → value, from ECHOLOG_* variables (see env-overrides.ts). */
  env?: DottedValues;
  /** Dotted key → value, from command-line flags. */
  flags?: DottedValues;
  /** Dotted key → the flag that sets it, so errors name what the user typed. */
  flagNames?: Record<string, string>;
}

export interface ResolvedConfig {
  config: EchologConfig;
  /** Where each leaf value came from, by dotted key. */
  sources: Record<string, ConfigSource>;
  filePath: string | undefined;
}

/** Merges flags over env over the file over defaults, then validates the whole. Pure. */
export function resolveConfig(layers: ConfigLayers): ResolvedConfig {
  const fileValues = layers.file?.values ?? {};
  if (!isPlainObject(fileValues)) {
    throw new ConfigError(`${layers.file?.path}: the config must be a mapping of keys to values, got ${JSON.stringify(fileValues)}`);
  }
  const fileLayer = validateLayer(fileValues, layers.file ? `config file ${layers.file.path}` : 'config');
  const envLayer = validateLayer(unflatten(layers.env ?? {}), 'environment');
  const flagLayer = validateLayer(unflatten(layers.flags ?? {}), 'command line', layers.flagNames);

  const merged: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const key of Object.keys(flattenToDotted(DEFAULT_CONFIG))) sources[key] = 'default';
  for (const [layer, source] of [
    [fileLayer, 'file'],
    [envLayer, 'env'],
    [flagLayer, 'flag'],
  ] as const) {
    for (const [key, value] of Object.entries(flattenToDotted(layer))) {
      setDotted(merged, key, value);
      sources[key] = source;
    }
  }
  return { config: configSchema.parse(merged), sources, filePath: layers.file?.path };
}

/** Dotted keys whose effective value differs from the default: the "overrides" of session_start. */
export function overridesOf(resolved: ResolvedConfig): DottedValues {
  const defaults = flattenToDotted(DEFAULT_CONFIG);
  const effective = flattenToDotted(resolved.config);
  return Object.fromEntries(Object.entries(effective).filter(([key, value]) => defaults[key] !== value));
}

function unflatten(values: DottedValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) setDotted(out, key, value);
  return out;
}

/**
 * Validates one layer on its own so the error names where the bad value came from.
 * Returns only the keys the layer set (defaults are applied once, after merging).
 */
function validateLayer(values: Record<string, unknown>, origin: string, labels?: Record<string, string>): Record<string, unknown> {
  const result = configSchema.safeParse(values);
  if (!result.success) {
    const ErrorClass = labels ? UsageError : ConfigError;
    throw new ErrorClass(`${origin}: ${result.error.issues.map((issue) => describeIssue(issue, values, labels)).join('; ')}`);
  }
  return values;
}

function describeIssue(issue: z.core.$ZodIssue, values: Record<string, unknown>, labels?: Record<string, string>): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const prefix = key ? `${key}.` : '';
    const known = Object.keys(flattenToDotted(key ? getPath(DEFAULT_CONFIG, key) : DEFAULT_CONFIG, key));
    return `unknown key ${issue.keys.map((k) => `'${prefix}${k}'`).join(', ')} (known keys: ${known.join(', ')})`;
  }
  const bad = JSON.stringify(getPath(values, key));
  return `${labels?.[key] ?? key} ${labels?.[key] ? '' : '= '}${bad} is not allowed: ${allowedText(issue)}`;
}

function allowedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

function getPath(value: unknown, dottedKey: string): unknown {
  let node = value;
  for (const part of dottedKey.split('.').filter(Boolean)) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

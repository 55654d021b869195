import { z } from 'zod';
import { ConfigError, UsageError } from '../errors.js';
import { configSchema, DEFAULT_CONFIG, type EchologConfig } from './schema.js';
import { flattenToDotted, isPlainObject, setDotted, type DottedValues } from './dotted-keys.js';
import { ENV_KEYS } from './env-overrides.js';
import type { ConfigFile } from './load-config-file.js';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export interface ConfigLayers {
  /** The parsed config file, if one was found. */
  file?: ConfigFile;
  /** Dotted key → value, from ECHOLOG_* variables (see env-overrides.ts). */
  env?: DottedValues;
  /** Dotted key → value, from command-line flags. */
  flags?: DottedValues;
  /** Dotted key → the flag that sets it, so errors name what the user typed. */
  flagNames?: Record<string, string>;
}

/** One layer's value for a key. */
export interface Setting {
  source: Exclude<ConfigSource, 'default'>;
  /** What set it, as the user wrote it: the file's path, the variable or the flag. */
  setBy: string;
  value: unknown;
}

export interface ResolvedConfig {
  config: EchologConfig;
  /** Where each leaf value came from, by dotted key. */
  sources: Record<string, ConfigSource>;
  /** By dotted key, every layer that set it, the one in force first; keys left at their default are absent. */
  settings: Record<string, Setting[]>;
  filePath: string | undefined;
}

/** A layer as validation sees it: its nested values, and how its errors name what the user wrote. */
interface Layer {
  source: Setting['source'];
  values: Record<string, unknown>;
  /** Prefix of every error line, e.g. `config file /x/echolog.conf: `. */
  origin: string;
  /** What the user typed for this key: `logging.level: "verbose"`, `ECHOLOG_LOG_LEVEL=verbose`, `--log-level verbose`. */
  subject: (key: string, value: unknown) => string;
  /** The file path, variable or flag behind a key. */
  setBy: (key: string) => string;
}

const VARIABLE_OF_KEY: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ENV_KEYS).map(([variable, key]) => [key, variable]),
);

/**
 * Merges flags over env over the file over defaults. Each layer is validated on its own so that an error names
 * where the bad value came from; all errors of all layers are reported at once. Pure.
 */
export function resolveConfig(layers: ConfigLayers): ResolvedConfig {
  const all: Layer[] = [];
  if (layers.file) {
    const file = layers.file;
    all.push({
      source: 'file',
      // A key written with no value (`level:`) is YAML null: the same as leaving the key out.
      values: withoutNulls(file.values) as Record<string, unknown>,
      origin: `config file ${file.path}: `,
      subject: (key, value) => `${key || 'the whole file'}: ${formatValue(value)}`,
      setBy: () => file.path,
    });
  }
  const flagNames = layers.flagNames ?? {};
  all.push(
    {
      source: 'env',
      values: unflatten(layers.env ?? {}),
      origin: 'environment: ',
      subject: (key, value) => `${VARIABLE_OF_KEY[key] ?? key}=${formatWord(value)}`,
      setBy: (key) => VARIABLE_OF_KEY[key] ?? key,
    },
    {
      source: 'flag',
      values: unflatten(layers.flags ?? {}),
      origin: '',
      subject: (key, value) => `option ${flagNames[key] ?? key} ${formatWord(value)}`,
      setBy: (key) => flagNames[key] ?? key,
    },
  );

  const problems = all.flatMap((layer) => validateLayer(layer).map((line) => ({ layer, line })));
  if (problems.length > 0) {
    const ErrorClass = problems.every((p) => p.layer.source === 'flag') ? UsageError : ConfigError;
    throw new ErrorClass(problems.map((p) => p.line).join('\n'));
  }

  const merged: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  const settings: Record<string, Setting[]> = {};
  for (const key of Object.keys(flattenToDotted(DEFAULT_CONFIG))) sources[key] = 'default';
  for (const layer of all) {
    for (const [key, value] of Object.entries(flattenToDotted(layer.values))) {
      setDotted(merged, key, value);
      sources[key] = layer.source;
      (settings[key] ??= []).unshift({ source: layer.source, setBy: layer.setBy(key), value });
    }
  }
  return { config: configSchema.parse(merged), sources, settings, filePath: layers.file?.path };
}

/** Dotted keys whose effective value differs from the default: the "overrides" of session_start. */
export function overridesOf(resolved: ResolvedConfig): DottedValues {
  const defaults = flattenToDotted(DEFAULT_CONFIG);
  const effective = flattenToDotted(resolved.config);
  return Object.fromEntries(Object.entries(effective).filter(([key, value]) => defaults[key] !== value));
}

/** One line per problem, naming where, the key, the bad value and what is allowed. */
function validateLayer(layer: Layer): string[] {
  const result = configSchema.safeParse(layer.values);
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => {
    const key = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((unknown) => layer.origin + describeUnknownKey(key, unknown));
    return [
      `${layer.origin}${layer.subject(key, getPath(layer.values, key))} is not allowed: expected ${allowedFor(key) ?? issue.message}`,
    ];
  });
}

function describeUnknownKey(parentKey: string, unknown: string): string {
  const known = Object.keys(nodeAt(parentKey)?.properties ?? {});
  const dotted = parentKey ? `${parentKey}.${unknown}` : unknown;
  const guess = closest(unknown, known);
  const hint = guess === undefined ? '' : `: did you mean ${parentKey ? `${parentKey}.` : ''}${guess}?`;
  return `unknown key ${dotted}${hint} (${parentKey ? `keys of ${parentKey}` : 'top-level keys'}: ${known.join(', ')})`;
}

/** The schema as JSON Schema: plain data with types, bounds and enums, read to say what a key allows. */
interface SchemaNode {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  properties?: Record<string, SchemaNode>;
  default?: unknown;
}

export const CONFIG_JSON_SCHEMA = z.toJSONSchema(configSchema, { io: 'input' }) as SchemaNode;

function nodeAt(dottedKey: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = CONFIG_JSON_SCHEMA;
  for (const part of dottedKey.split('.').filter(Boolean)) node = node?.properties?.[part];
  return node;
}

/** "one of debug, info, …", "a whole number from 8000 to 192000", "true or false", … */
export function allowedFor(dottedKey: string): string | undefined {
  const node = nodeAt(dottedKey);
  if (!node) return undefined;
  if (node.enum) return `one of ${node.enum.map(String).join(', ')}`;
  switch (node.type) {
    case 'boolean':
      return 'true or false';
    case 'string':
      return node.minLength ? 'a non-empty string' : 'a string';
    case 'object':
      return `a mapping with the keys ${Object.keys(node.properties ?? {}).join(', ')}`;
    case 'integer':
    case 'number':
      return `${node.type === 'integer' ? 'a whole number' : 'a number'}${describeBounds(node)}`;
    default:
      return undefined;
  }
}

function describeBounds(node: SchemaNode): string {
  // zod writes the safe-integer limits of .int() as bounds; they say nothing to a user.
  const meaningful = (n: number | undefined) => (n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);
  const [min, max, gt, lt] = [
    meaningful(node.minimum),
    meaningful(node.maximum),
    meaningful(node.exclusiveMinimum),
    meaningful(node.exclusiveMaximum),
  ];
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  const parts = [
    min !== undefined ? `>= ${min}` : undefined,
    gt !== undefined ? `> ${gt}` : undefined,
    max !== undefined ? `<= ${max}` : undefined,
    lt !== undefined ? `< ${lt}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

/** The candidate within edit distance 2 of `word` (typos like `levl`, `max_byte`), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** A file value as YAML/JSON shows it: strings quoted, so `"16000"` and `16000` look different. */
function formatValue(value: unknown): string {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
}

/** A value the user typed in a shell: bare when that is unambiguous, quoted otherwise. */
function formatWord(value: unknown): string {
  const text = String(value);
  return /^[\w./~:@%+,=-]+$/.test(text) ? text : JSON.stringify(text);
}

function withoutNulls(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, child]) => child !== null)
      .map(([key, child]) => [key, withoutNulls(child)]),
  );
}

function unflatten(values: DottedValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) setDotted(out, key, value);
  return out;
}

function getPath(value: unknown, dottedKey: string): unknown {
  let node = value;
  for (const part of dottedKey.split('.').filter(Boolean)) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

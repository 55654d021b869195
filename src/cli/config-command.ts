import { flattenToDotted } from '../config/dotted-keys.js';
import type { ConfigSource, ResolvedConfig, Setting } from '../config/resolve-config.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';

export interface ConfigCommandOptions {
  resolved: ResolvedConfig;
  json: boolean;
}

/** One row of `echolog config`. */
export interface ConfigRow {
  key: string;
  value: unknown;
  source: ConfigSource;
  /** The file, variable or flag that set the value; absent for a default. */
  set_by?: string;
  /** Lower layers that also set the key and lost, highest first: shows e.g. ECHOLOG_FFMPEG winning over the file. */
  overrides?: Setting[];
}

/** Every key with its effective value and where it came from. Pure: returns what `configCommand` prints. */
export function describeConfig(resolved: ResolvedConfig): { config_file: string | null; values: ConfigRow[] } {
  const values = Object.entries(flattenToDotted(resolved.config)).map(([key, value]): ConfigRow => {
    const [winner, ...losers] = resolved.settings[key] ?? [];
    if (!winner) return { key, value, source: 'default' };
    return { key, value, source: winner.source, set_by: winner.setBy, ...(losers.length > 0 ? { overrides: losers } : {}) };
  });
  return { config_file: resolved.filePath ?? null, values };
}

/** `echolog config`: every key, its effective value and where it came from (default, file, env, flag). */
export function configCommand(options: ConfigCommandOptions, surroundings: Surroundings): number {
  const description = describeConfig(options.resolved);
  surroundings.stdout.write(options.json ? formatJson(description) : formatConfig(description));
  return 0;
}

export function formatConfig(description: ReturnType<typeof describeConfig>): string {
  const rows = description.values.map((row) => [row.key, JSON.stringify(row.value), formatSource(row)] as const);
  const keyWidth = Math.max(...rows.map(([key]) => key.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  const lines = rows.map(([key, value, source]) => `${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  ${source}`);
  return `# config file: ${description.config_file ?? '(none found)'}\n# precedence: flag > env > file > default\n${lines.join('\n')}\n`;
}

/** `default`, `file`, `env ECHOLOG_FFMPEG (overrides file "/opt/ffmpeg")`, `flag --log-level (overrides env ECHOLOG_LOG_LEVEL "error")`. */
function formatSource(row: ConfigRow): string {
  const own = row.source === 'default' || row.source === 'file' ? row.source : `${row.source} ${row.set_by}`;
  const lost = (row.overrides ?? []).map((s) => `${s.source === 'file' ? 'file' : `${s.source} ${s.setBy}`} ${JSON.stringify(s.value)}`);
  return lost.length > 0 ? `${own} (overrides ${lost.join(', ')})` : own;
}

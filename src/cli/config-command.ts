import { flattenToDotted } from '../config/dotted-keys.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Surroundings } from './surroundings.js';

/** `echolog config`: every key, its effective value and where it came from. */
export function configCommand(options: { resolved: ResolvedConfig; json: boolean }, surroundings: Surroundings): number {
  const { resolved } = options;
  const rows = Object.entries(flattenToDotted(resolved.config)).map(([key, value]) => ({ key, value, source: resolved.sources[key] ?? 'default' }));
  if (options.json) {
    surroundings.stdout.write(`${JSON.stringify({ config_file: resolved.filePath ?? null, values: rows }, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((row) => row.key.length));
  const lines = rows.map((row) => `${row.key.padEnd(width)}  ${JSON.stringify(row.value)}  (${row.source})`);
  surroundings.stdout.write(`# config file: ${resolved.filePath ?? '(none found)'}\n${lines.join('\n')}\n`);
  return 0;
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flattenToDotted } from '../src/config/dotted-keys.js';
import { loadConfigFile } from '../src/config/load-config-file.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { REPO } from './helpers/cli.js';

const EXAMPLE = path.join(REPO, 'echolog.conf.example');

/** echolog.conf.example is the documentation of every key: adding a key without documenting it fails here. */
describe('echolog.conf.example', async () => {
  const file = await loadConfigFile({ explicitPath: EXAMPLE, cwd: REPO, home: REPO, env: {} });
  const written = flattenToDotted(file?.values);
  const defaults = flattenToDotted(DEFAULT_CONFIG);

  it('loads through the real loader and validates', () => {
    expect(file?.path).toBe(EXAMPLE);
    expect(() => resolveConfig({ file })).not.toThrow();
  });

  it('lists every key of the schema, and no other', () => {
    expect(Object.keys(written).sort()).toEqual(Object.keys(defaults).sort());
  });

  it('gives every key its default', () => {
    expect(written).toEqual(defaults);
  });

  it('resolves to exactly the defaults', () => {
    expect(resolveConfig({ file }).config).toEqual(DEFAULT_CONFIG);
  });

  it('has a one-line comment right above every key, and keys grouped by section', () => {
    const lines = fs.readFileSync(EXAMPLE, 'utf8').split('\n');
    const sections = Object.keys(DEFAULT_CONFIG).filter((key) => typeof DEFAULT_CONFIG[key as keyof typeof DEFAULT_CONFIG] === 'object');
    let section = '';
    for (const [index, line] of lines.entries()) {
      const match = /^(\s*)([a-z_]+):/.exec(line);
      if (!match) continue;
      const [, indent, key] = match;
      if (!indent && sections.includes(key!)) {
        section = key!;
        continue;
      }
      if (!indent) section = '';
      const dotted = section ? `${section}.${key}` : key!;
      expect(Object.keys(defaults), `line ${index + 1}`).toContain(dotted);
      expect(lines[index - 1], `comment above ${dotted}`).toMatch(/^\s*# \S/);
    }
  });
});

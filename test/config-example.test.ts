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
    // Sections nest by indentation (transcription.openai); a key's section is the path of the sections above it.
    const isSection = (dotted: string) =>
      dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], DEFAULT_CONFIG) instanceof
      Object;
    const path: Array<{ indent: number; key: string }> = [];
    for (const [index, line] of lines.entries()) {
      const match = /^(\s*)([a-z_]+):/.exec(line);
      if (!match) continue;
      const [, indent, key] = match;
      while (path.length > 0 && path.at(-1)!.indent >= indent!.length) path.pop();
      const dotted = [...path.map((p) => p.key), key!].join('.');
      if (isSection(dotted)) {
        path.push({ indent: indent!.length, key: key! });
        if (dotted.includes('.')) expect(lines[index - 1], `comment above ${dotted}`).toMatch(/^\s*# \S/);
        continue;
      }
      expect(Object.keys(defaults), `line ${index + 1}`).toContain(dotted);
      expect(lines[index - 1], `comment above ${dotted}`).toMatch(/^\s*# \S/);
    }
  });
});

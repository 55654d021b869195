import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, SINE, sandboxPool } from './helpers/cli.js';

const pool = sandboxPool();
afterAll(pool.cleanup);
const TRACE = fileURLToPath(new URL('./helpers/trace-imports.mjs', import.meta.url));
/** Which source modules and packages each chunk of the CLI's bundle holds (scripts/bundle.mjs writes it). */
const CHUNKS = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../dist/bundle-modules.json', import.meta.url)), 'utf8')) as Record<
  string,
  string[]
>;

/** The package a node_modules path belongs to (`node_modules/@scope/name/…` → `@scope/name`). */
const packageOf = (file: string): string[] => file.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.slice(1, 2) ?? [];

/**
 * The packages and echolog modules a command loads, from a module-resolution trace of the built CLI: each bundle
 * chunk it loads stands for the modules in it (a module is loaded, whole, when its chunk is).
 */
async function loadedBy(args: string[], box = pool.sandbox()): Promise<{ packages: string[]; modules: string[]; builtins: string[] }> {
  const out = path.join(box.root, 'trace.txt');
  const result = await runCli(args, box, { ECHOLOG_TRACE_IMPORTS: out, NODE_OPTIONS: `--import ${TRACE}` });
  expect(result.code, result.stderr).toBe(0);
  const urls = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const files = urls.flatMap((url) => {
    const chunk = url.match(/\/dist\/bundle\/([^/]+\.cjs)$/)?.[1];
    if (chunk === undefined) return url.includes('/node_modules/') ? [url] : [];
    expect(CHUNKS[chunk], `${chunk} is not in dist/bundle-modules.json: rebuild`).toBeDefined();
    return CHUNKS[chunk]!;
  });
  const packages = [...new Set(files.flatMap(packageOf))];
  const modules = [...new Set(files.flatMap((file) => file.match(/^src\/(.+)\.ts$/)?.[1] ?? []))];
  const builtins = [...new Set(urls.filter((url) => url.startsWith('node:')))];
  return { packages, modules, builtins };
}

// A structural check of what start-up loads (bench/startup.mjs measures the time).
describe('quick commands load only what they use', () => {
  it.concurrent.each([
    ['--version', []],
    ['-v', []],
    ['--help', ['commander']],
  ])('%s loads no config loader, spinner or log writer', async (flag, expected) => {
    const { packages } = await loadedBy([flag]);
    expect(packages).toEqual(expected);
  });

  it.concurrent('status loads no schema (zod), spinner, log writer or transcription', async () => {
    const box = pool.sandbox();
    // A real session to report on.
    const recorded = await runCli(
      ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--segment-time', '1', '--no-realtime'],
      box,
    );
    expect(recorded.code, recorded.stderr).toBe(0);
    const { packages, modules, builtins } = await loadedBy(['status'], box);
    // No config file here: the config loader (its YAML parser) is not needed either. status is answered before
    // commander loads (src/cli/status-args.ts), so no package at all.
    expect(packages).toEqual([]);
    expect(modules).not.toContain('cli/program');
    // Nor Node's crypto (~4 ms to load; temp-file names for writes status does not make) or child_process.
    for (const heavy of ['node:crypto', 'node:child_process', 'node:readline']) expect(builtins).not.toContain(heavy);
    // Telling whether a pid lives needs no process spawner (child_process, readline).
    expect(modules).not.toContain('process/managed-process');
    // The pure line parser and the log's file name are allowed (a corrupt session.json is rebuilt from the log); the writer is not.
    const pureLogging = new Set(['logging/line-format', 'logging/log-names']);
    expect(modules.filter((m) => m.startsWith('transcription/') || (m.startsWith('logging/') && !pureLogging.has(m)))).toEqual([]);
    expect(modules).toContain('cli/status-command');
    // Not recording: no session.json to rebuild, and no completion or man page to make.
    for (const unused of [
      'store/manifest-rebuild',
      'cli/command-tree',
      'cli/completion',
      'cli/man-page',
      'config/schema',
      'cli/help-layout',
      'cli/help-text',
      'cli/daemon-program',
    ])
      expect(modules).not.toContain(unused);
  });

  it.concurrent('completion and man load their generators; --help does not', async () => {
    expect((await loadedBy(['completion', 'bash'])).modules).toEqual(expect.arrayContaining(['cli/command-tree', 'cli/completion']));
    expect((await loadedBy(['man'])).modules).toEqual(expect.arrayContaining(['cli/command-tree', 'cli/man-page']));
    const help = await loadedBy(['sessions', 'list', '--help']);
    expect(help.packages).toEqual(['commander']);
    for (const unused of ['cli/command-tree', 'cli/sessions-command', 'config/peek-config']) expect(help.modules).not.toContain(unused);
  });

  it.concurrent('sessions list loads no schema (zod), config loader, spinner or log writer', async () => {
    const box = pool.sandbox();
    const recorded = await runCli(
      ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--segment-time', '1', '--no-realtime'],
      box,
    );
    expect(recorded.code, recorded.stderr).toBe(0);
    const { packages, modules } = await loadedBy(['sessions', 'list'], box);
    expect(packages).toEqual(['commander']);
    expect(modules).toContain('cli/sessions-command');
    expect(modules).not.toContain('logging/session-log');
  });
});

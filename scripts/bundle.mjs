// Bundles the CLI into dist/bundle/ (issue 19 §5, start-up). Node 20's ESM loader reads, compiles and links every
// module file one by one: `status` loaded commander and ~37 files of tsc's dist/. Here it loads four: the entry,
// `core`, `status` (see GROUPS) and the bundler's runtime helpers (src/index.ts answers `status` before the
// program and commander load; other commands load those two too). Every other lazy `import()` stays a chunk of
// its own, so heavy modules (zod, ora, the recorder, transcription) load only for the commands that run them.
// tsc still writes dist/: the worker scripts (started by path, not start-up bound) and the modules tests and
// benches import (`npm run build` type-checks as it emits; `npm test` emits unchecked and type-checks src/ and test/
// together, scripts/check.mjs). The optional peers stay external.
// The bundle is CommonJS (`.cjs`, required by bin/echolog): Node 20 loads a CommonJS file with one synchronous
// read, while its ESM loader takes several thread-pool round trips per module and compiles its own loader first
// (~7 ms of a ~60 ms `status`). The sources stay ESM; rolldown writes `import.meta.url` and `import()` as CommonJS.
// Writes dist/bundle-modules.json (chunk → the source modules in it) for test/startup-imports.test.ts; not shipped.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(ROOT, 'src');
const OUT = path.join(ROOT, 'dist', 'bundle');
const OPTIONAL_PEERS = ['@napi-rs/whisper', 'koffi', 'ffmpeg-static'];
/**
 * Chunks made of what their roots import statically, each less the chunks before it: what every command loads
 * (`core`: all `--version` needs), the program (every other command line), and `status` (its command and config
 * peek). A chunk is loaded whole by whoever imports any module in it: the table of environment variables, which
 * the help text and status's config peek both import, is in `core` (1 KB) so that neither loads the other's chunk.
 */
const GROUPS = [
  ['core', ['index.ts', 'config/env-overrides.ts']],
  ['program', ['cli/program.ts']],
  ['status', ['config/peek-config.ts', 'cli/status-command.ts']],
];

/**
 * Each bundled module keeps the `import.meta.url` of its tsc twin (src/a/b.ts → dist/a/b.js), relative to the
 * chunk it lands in (all in dist/bundle/), so what is found beside a module stays found: package.json,
 * bin/echolog and the worker scripts.
 */
const twinImportMetaUrl = {
  name: 'twin-import-meta-url',
  transform(code, id) {
    if (!id.startsWith(SRC + path.sep) || !code.includes('import.meta.url')) return null;
    const twin = path
      .relative(OUT, path.join(ROOT, 'dist', path.relative(SRC, id)))
      .replace(/\.ts$/, '.js')
      .split(path.sep)
      .join('/');
    return { code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(twin)}, import.meta.url).href`) };
  },
};

/**
 * `node:crypto` takes ~4 ms to load (a tenth of a bare `node -e 0`), and the quick commands never use it: it makes
 * random temp-file names and hashes for writes. Bundled code imports it through this module, which loads it on the
 * first call. A function not listed here fails the build (a missing export or a namespace member is an error, see
 * onLog below), not the run, and so does any import of it other than a static one.
 */
const LAZY_CRYPTO = '\0lazy-crypto';
const lazyCrypto = {
  name: 'lazy-crypto',
  resolveId(source, importer, options) {
    if (source !== 'node:crypto' || !importer?.startsWith(SRC + path.sep)) return null;
    // Only a static named import is checked against the list; any other kind would fail at run time instead.
    if (options?.kind !== 'import-statement')
      this.error(`${path.relative(ROOT, importer)}: import node:crypto statically, by name (import { randomBytes } from 'node:crypto')`);
    return LAZY_CRYPTO;
  },
  load: (id) =>
    id === LAZY_CRYPTO
      ? [
          "import { createRequire } from 'node:module';",
          "const crypto = () => createRequire(import.meta.url)('node:crypto');",
          'export const randomBytes = (...args) => crypto().randomBytes(...args);',
          'export const createHash = (...args) => crypto().createHash(...args);',
        ].join('\n')
      : null,
};

/** The modules `roots` import statically, transitively (their own chunk's worth), from the bundler's graph. */
function staticClosure(ctx, roots) {
  const seen = new Set();
  const pending = roots.map((root) => path.join(SRC, root));
  while (pending.length > 0) {
    const id = pending.pop();
    const info = seen.has(id) ? null : ctx.getModuleInfo(id);
    if (!info) continue;
    seen.add(id);
    pending.push(...info.importedIds);
  }
  return seen;
}

let members;
/** The chunk a module is put in by name, or null for rolldown's own splitting (by which entries reach it). */
function chunkOf(id, ctx) {
  if (/[\\/]node_modules[\\/]commander[\\/]/.test(id)) return 'commander';
  if (!members) {
    const taken = new Set();
    members = GROUPS.map(([name, roots]) => {
      const modules = [...staticClosure(ctx, roots)].filter((module) => !taken.has(module));
      for (const module of modules) taken.add(module);
      return [name, new Set(modules)];
    });
  }
  return members.find(([, modules]) => modules.has(id))?.[0] ?? null;
}

await fs.rm(OUT, { recursive: true, force: true });
const bundle = await rolldown({
  input: { index: path.join(SRC, 'index.ts') },
  platform: 'node',
  // node:crypto is left to lazyCrypto (external ids never reach a plugin's resolveId).
  external: [/^node:(?!crypto$)/, ...OPTIONAL_PEERS.map((name) => new RegExp(`^${name}(/|$)`))],
  plugins: [twinImportMetaUrl, lazyCrypto],
  logLevel: 'warn',
  // What would be undefined at run time (a name the lazy crypto module does not export) fails the build.
  onLog(level, log, handler) {
    if (log.code === 'MISSING_EXPORT' || log.code === 'IMPORT_IS_UNDEFINED') handler('error', log);
    else handler(level, log);
  },
});
const { output } = await bundle.write({
  dir: OUT,
  format: 'cjs',
  // The sources are ESM, strict by definition; CommonJS output is sloppy unless it says otherwise.
  strict: true,
  entryFileNames: '[name].cjs',
  chunkFileNames: '[name]-[hash].cjs',
  codeSplitting: { groups: [{ name: chunkOf, debugName: 'echolog' }] },
});
await bundle.close();
const modules = Object.fromEntries(
  output
    .filter((o) => o.type === 'chunk')
    .map((chunk) => [
      chunk.fileName,
      chunk.moduleIds.filter((id) => path.isAbsolute(id)).map((id) => path.relative(ROOT, id).split(path.sep).join('/')),
    ]),
);
await fs.writeFile(path.join(ROOT, 'dist', 'bundle-modules.json'), `${JSON.stringify(modules, null, 1)}\n`);

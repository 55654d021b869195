// Preloaded with `node --import` by test/startup-imports.test.ts: appends every module URL the process
// resolves to the file named by ECHOLOG_TRACE_IMPORTS, so a test can see what a command loads.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./trace-imports-hooks.mjs', import.meta.url);

// What require() loads passes no hook (the CLI's bundle is CommonJS): at exit, every file in require's cache is
// appended as a file URL, and every public built-in module the process loaded as `node:<name>` (Node's own
// process.moduleLoadList).
const requireCache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const out = process.env.ECHOLOG_TRACE_IMPORTS;
  const files = Object.keys(requireCache).map((file) => `${pathToFileURL(file).href}\n`);
  const builtins = process.moduleLoadList.flatMap((entry) =>
    /^NativeModule (?!internal\/)/.test(entry) ? [`node:${entry.slice('NativeModule '.length)}\n`] : [],
  );
  if (out) fs.appendFileSync(out, [...files, ...builtins].join(''));
});

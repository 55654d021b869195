// Preloaded with `node --import` by test/startup-imports.test.ts: appends every module URL the process
// resolves to the file named by ECHOLOG_TRACE_IMPORTS, so a test can see what a command loads.
import fs from 'node:fs';
import { register } from 'node:module';

register('./trace-imports-hooks.mjs', import.meta.url);

// A built-in loaded with require() (the bundle loads node:crypto so, on first use) passes no hook: at exit, every
// public built-in module the process loaded is appended too, as `node:<name>` (Node's own process.moduleLoadList).
process.on('exit', () => {
  const out = process.env.ECHOLOG_TRACE_IMPORTS;
  const loaded = process.moduleLoadList.flatMap((entry) => (/^NativeModule (?!internal\/)/.test(entry) ? [`node:${entry.slice('NativeModule '.length)}\n`] : []));
  if (out) fs.appendFileSync(out, loaded.join(''));
});

// Preloaded with `node --import` by test/startup-imports.test.ts: appends every module URL the process
// resolves to the file named by ECHOLOG_TRACE_IMPORTS, so a test can see what a command loads.
import { register } from 'node:module';

register('./trace-imports-hooks.mjs', import.meta.url);

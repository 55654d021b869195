import { createRequire } from 'node:module';

/** echolog's version, from package.json (dist/version.js sits one folder below it). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TranscriptionError } from '../errors.js';

/**
 * A compiled script beside the module at `moduleUrl`, for a worker thread or a child Node. Under
 * vitest that module is the TypeScript source, and Node 20 cannot run .ts, so the built one in
 * dist/ is used: build first (`npm test` does). `what` names it in the error.
 */
export function resolveBuiltScript(moduleUrl: string, file: string, what: string): URL {
  const sibling = new URL(`./${file}`, moduleUrl);
  if (!moduleUrl.endsWith('.ts')) return sibling;
  const source = fileURLToPath(sibling);
  const built = source.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$2');
  if (!fs.existsSync(built)) {
    throw new TranscriptionError(`${what} is not built (${built} is missing): run \`npm run build\` first`);
  }
  return pathToFileURL(built);
}

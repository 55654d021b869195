import { homeDirectory } from '../files/paths.js';
import type { Writable } from 'node:stream';
import type { OutputWatch } from './output-guard.js';

/** What a command may touch of the outside world; tests pass their own. */
export interface Surroundings {
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  now: () => Date;
  /** Says when stdout or stderr went away (see output-guard.ts); absent in tests that pass their own streams. */
  outputs?: OutputWatch;
}

export function processSurroundings(outputs?: OutputWatch): Surroundings {
  return {
    cwd: process.cwd(),
    env: process.env,
    home: homeDirectory(process.env),
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => new Date(),
    outputs,
  };
}

import os from 'node:os';
import type { Writable } from 'node:stream';

/** What a command may touch of the outside world; tests pass their own. */
export interface Surroundings {
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  now: () => Date;
}

export function processSurroundings(): Surroundings {
  return {
    cwd: process.cwd(),
    env: process.env,
    home: process.env.HOME || os.homedir(),
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => new Date(),
  };
}

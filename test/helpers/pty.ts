import { execFile } from 'node:child_process';
import { findOnPath } from '../../src/process/find-executable.js';
import { BIN, type Sandbox } from './cli.js';

/** util-linux `script`, found on the test's own PATH (a test may give echolog a narrower one). */
const SCRIPT = findOnPath('script', process.env) ?? 'script';

/**
 * Runs `echolog <args>` under a real pty (util-linux `script`) of 80×24, as a terminal user would;
 * resolves with everything the terminal received. `timeout` bounds the run even if something
 * loops on the terminal.
 */
export function runInPty(args: string[], box: Sandbox, env: NodeJS.ProcessEnv, timeoutSeconds = 30): Promise<string> {
  const quoted = [BIN, ...args].map((a) => `'${a}'`).join(' ');
  const command = `stty cols 80 rows 24; timeout ${timeoutSeconds} ${quoted}`;
  return new Promise((resolve, reject) => {
    execFile(
      SCRIPT,
      ['-qfec', command, '/dev/null'],
      { cwd: box.home, env: { ...box.env, ...env }, timeout: (timeoutSeconds + 30) * 1000, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './cli.js';

/**
 * Runs `echolog <args>` as the second local account `nobody`, in `cwd`. A clone may sit below a
 * folder only its owner can enter (CI clones into a 0700 `mktemp -d`), so the project is bound, in
 * a mount namespace of this run only, onto a fresh folder inside `reachable` (a folder nobody can
 * enter, removed with it), and nobody runs the CLI from there. Root only, as `su` is.
 */
export function runCliAsNobody(
  reachable: string,
  cwd: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const project = fs.mkdtempSync(path.join(reachable, 'project-'));
  fs.chmodSync(project, 0o755);
  const script =
    'mount --bind "$1" "$2" && shift && exec su nobody -s /bin/sh -c \'cd "$2" && shift 2 && exec "$0" "$@"\' -- "$1/bin/echolog" "$@"';
  return new Promise((resolve) => {
    const child = execFile(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', path.resolve(REPO), project, cwd, ...args],
      { timeout: timeoutMs },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

import os from 'node:os';
import path from 'node:path';

/** The user's home folder: `$HOME` when set (as a shell uses it), else the account's. */
export function homeDirectory(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** Expands a leading `~` the way a shell would, so config files can say `~/recordings`. */
function expandHome(spec: string, home: string): string {
  if (spec === '~') return home;
  if (spec.startsWith('~/')) return path.join(home, spec.slice(2));
  return spec;
}

/** A path the user gave (flag, config, environment) as an absolute path: `~` expanded, relative to `cwd`. */
export function resolveUserPath(spec: string, where: { cwd: string; home: string }): string {
  return path.resolve(where.cwd, expandHome(spec, where.home));
}

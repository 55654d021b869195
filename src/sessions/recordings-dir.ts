import path from 'node:path';

/** Expands a leading `~` the way a shell would, so config files can say `~/recordings`. */
export function expandHome(dir: string, home: string): string {
  if (dir === '~') return home;
  if (dir.startsWith('~/')) return path.join(home, dir.slice(2));
  return dir;
}

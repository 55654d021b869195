import fs from 'node:fs';
import path from 'node:path';

/** True for a regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first `name` on `env.PATH` (with PATHEXT on Windows); `check` is injectable for pure tests. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv, check: (file: string) => boolean = isExecutable): string | undefined {
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      if (check(candidate)) return candidate;
    }
  }
  return undefined;
}

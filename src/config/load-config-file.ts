import path from 'node:path';
import { ConfigError } from '../errors.js';
import { parseConfigText } from './parse-config-text.js';
import { openSearchFolder, readTrustedFile } from './trusted-config-file.js';

export interface LoadConfigFileOptions {
  /** --config: this file and no other. */
  explicitPath?: string;
  cwd: string;
  /** The user's home: the upward search stops there. */
  home: string;
  /** For XDG_CONFIG_HOME; never read from process.env, so tests can keep the real home out. */
  env: NodeJS.ProcessEnv;
  /** Told, one line each, about a config file the search found and skipped as untrusted. */
  warn?: (message: string) => void;
}

export interface ConfigFile {
  path: string;
  /** The parsed document; `{}` for an empty or comment-only file. Not validated yet. */
  values: unknown;
}

const MODULE = 'echolog';

/** What echolog looks for in each folder, from the cwd upwards; the first folder with one of them wins. */
export const SEARCH_PLACES = ['echolog.conf', '.echologrc', '.echologrc.json', '.echologrc.yaml', '.echologrc.yml', 'package.json'];

/** echolog.conf is YAML or JSON, never code: a --config file ending in .js or .ts is refused, not run. */
const CODE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts']);

/**
 * Finds and parses the config file: --config, then the cwd upwards (up to the home folder, or to the root when the
 * cwd is outside it), then $XDG_CONFIG_HOME/echolog/echolog.conf (~/.config by default).
 * Returns undefined when there is none. An empty file is a config that sets nothing.
 * Each candidate is opened once and judged by its open descriptor (trusted-config-file.ts).
 */
export async function loadConfigFile(options: LoadConfigFileOptions): Promise<ConfigFile | undefined> {
  if (options.explicitPath) return loadExplicit(options.explicitPath, options.cwd);
  const userFile = userConfigPath(options.env, options.home);
  const searches = [
    ...foldersUpwards(path.resolve(options.cwd), path.resolve(options.home)).map((dir) => ({ dir, names: SEARCH_PLACES })),
    { dir: path.dirname(userFile), names: [path.basename(userFile)] },
  ];
  for (const { dir, names } of searches) {
    const found = await searchFolder(dir, names);
    if (found?.kind === 'untrusted') options.warn?.(`ignoring config file ${found.file}: ${found.problem}`);
    else if (found) return found.config;
  }
  return undefined;
}

async function loadExplicit(explicitPath: string, cwd: string): Promise<ConfigFile> {
  const file = path.resolve(cwd, explicitPath);
  if (CODE_EXTENSIONS.has(path.extname(file))) {
    throw new ConfigError(`--config ${explicitPath}: echolog reads YAML or JSON config files, not code (${path.extname(file)})`);
  }
  // The user named this path: a symlink is followed, and its target judged.
  const read = await readTrustedFile(file, { followSymlinks: true });
  if (read.kind === 'missing') throw new ConfigError(`--config ${explicitPath}: file not found (${file})`);
  if (read.kind === 'untrusted')
    throw new ConfigError(`--config ${explicitPath}: ${file} is not trusted: ${read.problem}; its ffmpeg.path would be run`);
  const values = await valuesOf(file, read.text);
  if (values === NO_KEY) throw new ConfigError(`--config ${explicitPath}: ${file} has no "${MODULE}" key`);
  return { path: file, values };
}

type FolderResult = { kind: 'untrusted'; file: string; problem: string } | { kind: 'found'; config: ConfigFile };

/** The folder's config: the first of `names` it has (a package.json without an "echolog" key does not count). */
async function searchFolder(dir: string, names: readonly string[]): Promise<FolderResult | undefined> {
  const folder = await openSearchFolder(dir);
  if (!folder) return undefined;
  try {
    for (const name of names) {
      const file = path.join(dir, name);
      const read = await readTrustedFile(file, { openPath: folder.entry(name), folderWritableByOthers: folder.writableByOthers });
      if (read.kind === 'missing') continue;
      if (read.kind === 'untrusted') {
        // Someone else's package.json on the way up (cwd outside home) is no config unless it has the key: no warning then.
        if (
          name === 'package.json' &&
          !(await valuesOf(file, read.text ?? '').then(
            (values) => values !== NO_KEY,
            () => false,
          ))
        )
          continue;
        return { kind: 'untrusted', file, problem: read.problem };
      }
      const values = await valuesOf(file, read.text);
      if (values !== NO_KEY) return { kind: 'found', config: { path: file, values } };
    }
    return undefined;
  } finally {
    await folder.close();
  }
}

const NO_KEY = Symbol('no echolog key');

/** The parsed document (`{}` when empty); for a package.json its "echolog" key, or NO_KEY. */
async function valuesOf(file: string, text: string): Promise<unknown> {
  const document = await parseConfigText(file, text);
  if (path.basename(file) !== 'package.json') return document ?? {};
  const values = (document as Record<string, unknown> | null)?.[MODULE];
  return values === undefined ? NO_KEY : (values ?? {});
}

/** $XDG_CONFIG_HOME/echolog/echolog.conf; a relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
export function userConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config');
  return path.join(base, MODULE, 'echolog.conf');
}

/** `from`, its parent, … up to and including `stopDir`, or up to the root when `from` is not below `stopDir`. */
export function foldersUpwards(from: string, stopDir: string): string[] {
  const dirs = [from];
  let current = from;
  while (current !== stopDir) {
    const parent = path.dirname(current);
    if (parent === current) break;
    dirs.push(parent);
    current = parent;
  }
  return dirs;
}

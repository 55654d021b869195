import fs from 'node:fs/promises';
import path from 'node:path';
import type { Loader } from 'cosmiconfig';
import { ConfigError } from '../errors.js';
import { currentUid, trustProblem } from '../files/file-trust.js';

export interface LoadConfigFileOptions {
  /** --config: this file and no other. */
  explicitPath?: string;
  cwd: string;
  /** The user's home: the upward search stops there (as cosmiconfig's own `stopDir` default). */
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

/**
 * echolog.conf is YAML or JSON, never code: cosmiconfig would otherwise execute a --config file ending in .js or .ts.
 */
const CODE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts']);

/**
 * Finds and parses the config file: --config, then the cwd upwards (up to the home folder, or to the root when the
 * cwd is outside it), then $XDG_CONFIG_HOME/echolog/echolog.conf (~/.config by default).
 * Returns undefined when there is none. An empty file is a config that sets nothing.
 */
export async function loadConfigFile(options: LoadConfigFileOptions): Promise<ConfigFile | undefined> {
  if (options.explicitPath) {
    const explorer = await createExplorer();
    const file = path.resolve(options.cwd, options.explicitPath);
    if (CODE_EXTENSIONS.has(path.extname(file))) {
      throw new ConfigError(`--config ${options.explicitPath}: echolog reads YAML or JSON config files, not code (${path.extname(file)})`);
    }
    const result = await explorer.load(file).catch((error: unknown) => {
      throw (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? new ConfigError(`--config ${options.explicitPath}: file not found (${file})`)
        : asConfigError(error, file);
    });
    // Only a package.json without an "echolog" key loads as null.
    if (!result) throw new ConfigError(`--config ${options.explicitPath}: ${file} has no "${MODULE}" key`);
    const problem = await untrusted(result.filepath);
    if (problem) throw new ConfigError(`--config ${options.explicitPath}: ${result.filepath} is not trusted: ${problem}; its ffmpeg.path would be run`);
    return { path: result.filepath, values: result.config ?? {} };
  }

  // cosmiconfig (and its YAML parser) is loaded only once a folder has a candidate file: most runs
  // have no config file at all, and a quick command should not pay for the parser.
  const userFile = userConfigPath(options.env, options.home);
  const candidates = [
    ...foldersUpwards(path.resolve(options.cwd), path.resolve(options.home)).map(
      (dir) => async () => ((await anyExists(SEARCH_PLACES.map((name) => path.join(dir, name)))) ? readOrUndefined(async () => (await createExplorer()).search(dir), dir) : undefined),
    ),
    async () => ((await anyExists([userFile])) ? readOrUndefined(async () => (await createExplorer()).load(userFile), userFile) : undefined),
  ];
  for (const read of candidates) {
    const found = await read();
    if (!found) continue;
    const problem = await untrusted(found.path);
    if (!problem) return found;
    options.warn?.(`ignoring config file ${found.path}: ${problem}`);
  }
  return undefined;
}

/**
 * Like git's safe.directory: a config file another account could write is not read, as its
 * `ffmpeg.path` is executed. Owned by the user or root, and not group- or world-writable.
 */
async function untrusted(file: string): Promise<string | undefined> {
  return trustProblem(await fs.stat(file), currentUid(), true);
}

async function anyExists(files: readonly string[]): Promise<boolean> {
  const found = await Promise.all(files.map((file) => fs.lstat(file).then(() => true, () => false)));
  return found.includes(true);
}

let cosmiconfigModule: Promise<typeof import('cosmiconfig')> | undefined;
const loadCosmiconfig = (): Promise<typeof import('cosmiconfig')> => (cosmiconfigModule ??= import('cosmiconfig'));

async function createExplorer(): Promise<ReturnType<(typeof import('cosmiconfig'))['cosmiconfig']>> {
  const { cosmiconfig } = await loadCosmiconfig();
  // Per-folder searches ('none') instead of cosmiconfig's 'global' strategy: 'global' ends in env-paths' config dir,
  // read from the real process.env, where it would load `config.{json,yaml,js,ts,…}` rather than echolog.conf.
  try {
    return cosmiconfig(MODULE, {
      searchPlaces: SEARCH_PLACES,
      searchStrategy: 'none',
      loaders: LOADERS,
      ignoreEmptySearchPlaces: false,
      cache: false,
    });
  } catch (error) {
    // cosmiconfig 9 reads its own "meta config" (package.json, .config/config.*) in process.cwd() here,
    // and throws when one of those files does not parse.
    throw new ConfigError(`cannot read config: ${(error as Error).message}`);
  }
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

async function readOrUndefined(
  read: () => Promise<{ filepath: string; config: unknown } | null>,
  where: string,
): Promise<ConfigFile | undefined> {
  try {
    const result = await read();
    if (!result) return undefined;
    return { path: result.filepath, values: result.config ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw asConfigError(error, where);
  }
}

function asConfigError(error: unknown, where: string): ConfigError {
  if (error instanceof ConfigError) return error;
  const err = error as NodeJS.ErrnoException & { filepath?: string };
  const file = err.filepath ?? err.path ?? where;
  if (err.code === 'EISDIR') return new ConfigError(`config file ${file} is a directory`);
  return new ConfigError(`cannot read config file ${file}: ${err.message}`);
}

/** js-yaml reports a syntax error with a 0-based `mark` and the offending lines as a `snippet`. */
interface YamlSyntaxError {
  reason: string;
  mark: { line: number; column: number; snippet?: string };
}

/** YAML, with syntax errors as ConfigErrors that point at file:line:column. A comment-only document is empty. */
const loadYaml: Loader = async (filepath, content) => {
  try {
    const { defaultLoaders } = await loadCosmiconfig();
    return ((await defaultLoaders['.yaml']!(filepath, content)) as unknown) ?? undefined;
  } catch (error) {
    const { reason, mark } = error as Partial<YamlSyntaxError>;
    if (reason === undefined || mark === undefined) throw error;
    const snippet = mark.snippet ? `\n${mark.snippet}` : '';
    throw new ConfigError(`${filepath}:${mark.line + 1}:${mark.column + 1}: invalid YAML: ${reason}${snippet}`);
  }
};

/** JSON, with syntax errors as ConfigErrors that point at file:line:column (V8 only gives a character position). */
const loadJson: Loader = (filepath, content) => {
  const text = content.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const position = Number(/at position (\d+)/.exec(message)?.[1] ?? text.length);
    const before = text.slice(0, position).split('\n');
    throw new ConfigError(`${filepath}:${before.length}:${before.at(-1)!.length + 1}: invalid JSON: ${message}`);
  }
};

/** `.json` (and package.json) is JSON; everything else, echolog.conf and a --config file of any name, is YAML. */
const LOADERS = {
  '.json': loadJson,
  '.yaml': loadYaml,
  '.yml': loadYaml,
  '.conf': loadYaml,
  noExt: loadYaml,
  default: loadYaml,
};

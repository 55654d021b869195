import path from 'node:path';
import { cosmiconfig, defaultLoaders } from 'cosmiconfig';
import { ConfigError } from '../errors.js';

export interface LoadConfigFileOptions {
  /** --config: this file and no other. */
  explicitPath?: string;
  cwd: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

const MODULE = 'echolog';

/** Where echolog looks, in order, below each folder from the cwd upwards. */
export const SEARCH_PLACES = [
  'echolog.conf',
  '.echologrc',
  '.echologrc.json',
  '.echologrc.yaml',
  '.echologrc.yml',
  'package.json',
];

/**
 * Finds and parses the config file: --config, then the cwd upwards, then
 * $XDG_CONFIG_HOME/echolog/echolog.conf (~/.config by default). Returns undefined when there is none.
 */
export async function loadConfigFile(options: LoadConfigFileOptions): Promise<{ path: string; values: unknown } | undefined> {
  const explorer = cosmiconfig(MODULE, {
    searchPlaces: SEARCH_PLACES,
    // echolog.conf is YAML; cosmiconfig sees its extension as `.conf` and has no loader for it.
    loaders: { '.conf': defaultLoaders['.yaml'] },
    searchStrategy: 'global',
    stopDir: options.home,
    cache: false,
  });
  try {
    if (options.explicitPath) {
      const result = await explorer.load(path.resolve(options.cwd, options.explicitPath));
      return { path: result!.filepath, values: result?.config ?? {} };
    }
    const found = await explorer.search(options.cwd);
    if (found && !found.isEmpty) return { path: found.filepath, values: found.config };
    const userFile = path.join(options.env.XDG_CONFIG_HOME || path.join(options.home, '.config'), MODULE, 'echolog.conf');
    const user = await explorer.load(userFile).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    return user ? { path: user.filepath, values: user.config ?? {} } : undefined;
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const where = options.explicitPath ?? err.message;
    if (err.code === 'ENOENT') throw new ConfigError(`config file not found: ${options.explicitPath}`);
    throw new ConfigError(`cannot read config ${where}: ${err.message}`);
  }
}


import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { FfmpegNotFoundError } from '../errors.js';
import { findOnPath, isExecutable } from '../process/find-executable.js';
import type { ConfigSource } from '../config/resolve-config.js';

/** Where the ffmpeg in use came from: the config file, `ECHOLOG_FFMPEG`, `PATH`, or the optional `ffmpeg-static`. */
export type FfmpegSource = 'config' | 'env' | 'PATH' | 'ffmpeg-static';

export interface FfmpegLocation {
  path: string;
  source: FfmpegSource;
}

/** `ffmpeg.path` as the effective config has it, and which layer set it. */
export interface ConfiguredFfmpeg {
  path: string;
  source: 'config' | 'env';
}

export interface LocateFfmpegOptions {
  /** ffmpeg.path from the config file or ECHOLOG_FFMPEG; undefined when unset. */
  configured: ConfiguredFfmpeg | undefined;
  env: NodeJS.ProcessEnv;
  /** The ffmpeg-static binary path, if that optional package is installed; asked only when PATH has no ffmpeg. */
  bundledPath: () => Promise<string | undefined>;
}

export const INSTALL_HINT =
  'Install ffmpeg (Debian/Ubuntu: `sudo apt-get install ffmpeg`, macOS: `brew install ffmpeg`, Windows: `winget install ffmpeg`), ' +
  'or set ffmpeg.path in echolog.conf or ECHOLOG_FFMPEG to its absolute path.';

/**
 * Resolution order: ffmpeg.path (config file or ECHOLOG_FFMPEG) → `ffmpeg` on PATH → ffmpeg-static.
 * An ffmpeg the user installed on PATH is theirs to choose; the optional bundled one is only a fallback.
 */
export async function locateFfmpeg(options: LocateFfmpegOptions): Promise<FfmpegLocation> {
  const { configured } = options;
  if (configured?.path) {
    if (isExecutable(configured.path)) return { path: path.resolve(configured.path), source: configured.source };
    const where = configured.source === 'env' ? 'ECHOLOG_FFMPEG' : 'the configured ffmpeg.path';
    throw new FfmpegNotFoundError(`ffmpeg not found: ${where} ${configured.path} is not an executable file. ${INSTALL_HINT}`);
  }
  const onPath = findOnPath('ffmpeg', options.env);
  if (onPath) return { path: onPath, source: 'PATH' };
  const bundled = await options.bundledPath();
  if (bundled && isExecutable(bundled)) return { path: bundled, source: 'ffmpeg-static' };
  const tried = [
    'ffmpeg.path/ECHOLOG_FFMPEG (unset)',
    `ffmpeg on PATH (${options.env.PATH ?? ''})`,
    bundled ? `ffmpeg-static (${bundled}: missing)` : 'ffmpeg-static (not installed)',
  ];
  throw new FfmpegNotFoundError(`ffmpeg not found. Tried: ${tried.join(', ')}. ${INSTALL_HINT}`);
}

/** ffmpeg.path as configured, named by the layer that set it (`env` for ECHOLOG_FFMPEG; file or flag: `config`). */
export function configuredFfmpeg(value: string, source: ConfigSource | undefined): ConfiguredFfmpeg | undefined {
  if (!value) return undefined;
  return { path: value, source: source === 'env' ? 'env' : 'config' };
}

/** The path ffmpeg-static exports, or undefined when the optional package (or its download) is missing. */
export async function bundledFfmpegPath(): Promise<string | undefined> {
  try {
    // A variable specifier: the package is optional, so neither tsc nor a bundler may require it.
    const packageName = 'ffmpeg-static';
    const module = (await import(packageName)) as { default: string | null };
    return module.default ?? undefined;
  } catch {
    return undefined;
  }
}

/** Locates ffmpeg from the effective config (ffmpeg.path and the layer that set it), for every command that runs it. */
export function locateFfmpegFor(resolved: Pick<ResolvedConfig, 'config' | 'settings'>, env: NodeJS.ProcessEnv): Promise<FfmpegLocation> {
  return locateConfiguredFfmpeg(configuredFfmpeg(resolved.config.ffmpeg.path, resolved.settings['ffmpeg.path']?.[0]?.source), env);
}

/** Locates ffmpeg as `record` will run it, for `record` and `status`. */
export function locateConfiguredFfmpeg(configured: ConfiguredFfmpeg | undefined, env: NodeJS.ProcessEnv): Promise<FfmpegLocation> {
  return locateFfmpeg({ configured, env, bundledPath: bundledFfmpegPath });
}

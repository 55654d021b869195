import path from 'node:path';
import { FfmpegNotFoundError } from '../errors.js';
import { findOnPath, isExecutable } from '../process/find-executable.js';

export interface FfmpegLocation {
  path: string;
  /** How it was found, for the log: `config`, `ffmpeg-static`, `PATH`. */
  source: string;
}

export interface LocateFfmpegOptions {
  /** ffmpeg.path from config, env (ECHOLOG_FFMPEG) or flag; empty when unset. */
  configuredPath: string;
  env: NodeJS.ProcessEnv;
  /** The ffmpeg-static binary path, if that optional package is installed. */
  bundledPath: string | undefined;
}

export const INSTALL_HINT =
  'Install ffmpeg (Debian/Ubuntu: `sudo apt-get install ffmpeg`, macOS: `brew install ffmpeg`, Windows: `winget install ffmpeg`), ' +
  'or set ffmpeg.path in echolog.conf or ECHOLOG_FFMPEG to its absolute path.';

/** Resolution order: configured path (config file, ECHOLOG_FFMPEG, flag) → ffmpeg-static → `ffmpeg` on PATH. */
export function locateFfmpeg(options: LocateFfmpegOptions): FfmpegLocation {
  const tried: string[] = [];
  if (options.configuredPath) {
    if (isExecutable(options.configuredPath)) return { path: path.resolve(options.configuredPath), source: 'config' };
    throw new FfmpegNotFoundError(`ffmpeg not found: the configured ffmpeg.path ${options.configuredPath} is not an executable file. ${INSTALL_HINT}`);
  }
  if (options.bundledPath && isExecutable(options.bundledPath)) return { path: options.bundledPath, source: 'ffmpeg-static' };
  tried.push(options.bundledPath ? `ffmpeg-static (${options.bundledPath}: missing)` : 'ffmpeg-static (not installed)');
  const onPath = findOnPath('ffmpeg', options.env);
  if (onPath) return { path: onPath, source: 'PATH' };
  tried.push(`ffmpeg on PATH (${options.env.PATH ?? ''})`);
  throw new FfmpegNotFoundError(`ffmpeg not found. Tried: ffmpeg.path/ECHOLOG_FFMPEG (unset), ${tried.join(', ')}. ${INSTALL_HINT}`);
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

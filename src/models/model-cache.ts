import fs from 'node:fs';
import path from 'node:path';
import { resolveUserPath } from '../files/paths.js';
import { findModel, MODEL_CATALOG, type ModelEntry } from './catalog.js';

/**
 * Where downloaded models live: `$XDG_CACHE_HOME/echolog/models`, else `~/.cache/echolog/models`.
 * The same on every platform, so the README can name one place. A relative XDG_CACHE_HOME is
 * ignored, as the XDG Base Directory spec says.
 */
export function modelsCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache');
  return path.join(base, 'echolog', 'models');
}

/** Cache file for a catalog name; a name not in the catalog maps to `ggml-<name>.bin` (a model put there by hand). */
export function cachedModelPath(name: string, cacheDir: string): string {
  return path.join(cacheDir, findModel(name)?.file ?? `ggml-${name}.bin`);
}

export interface ModelLocation {
  /** What the config said: a model name or a path. */
  spec: string;
  /** `name`: looked up in the cache; `path`: a file the user named. */
  kind: 'name' | 'path';
  entry?: ModelEntry;
  path: string;
  exists: boolean;
}

export interface ModelLocationOptions {
  env: NodeJS.ProcessEnv;
  home: string;
  cwd: string;
}

/** A spec is a path when it has a directory separator, starts with `~` or `.`, or names a `.bin` file. */
export function isModelPath(spec: string): boolean {
  return /[\\/]/.test(spec) || spec.startsWith('~') || spec.startsWith('.') || spec.endsWith('.bin');
}

/** Resolves `transcription.model` (a catalog name or a path) to a file, and says whether it is there. */
export function locateModel(spec: string, options: ModelLocationOptions): ModelLocation {
  if (isModelPath(spec)) {
    const file = resolveUserPath(spec, options);
    return { spec, kind: 'path', path: file, exists: isFile(file) };
  }
  const file = cachedModelPath(spec, modelsCacheDir(options.env, options.home));
  return { spec, kind: 'name', entry: findModel(spec), path: file, exists: isFile(file) };
}

export interface CachedModelRow {
  name: string;
  file: string;
  sizeBytes: number;
  englishOnly: boolean;
  installed: boolean;
  path: string;
}

/** Every catalog model with whether it is in the cache. */
export function listCachedModels(cacheDir: string): CachedModelRow[] {
  return MODEL_CATALOG.map((entry) => {
    const file = path.join(cacheDir, entry.file);
    return {
      name: entry.name,
      file: entry.file,
      sizeBytes: entry.sizeBytes,
      englishOnly: entry.englishOnly,
      installed: isFile(file),
      path: file,
    };
  });
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

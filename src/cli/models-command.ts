import type { Writable } from 'node:stream';
import { modelUrl, requireModel } from '../models/catalog.js';
import { downloadVerified, type DownloadProgress } from '../models/download.js';
import { listCachedModels, locateModel, modelsCacheDir, type CachedModelRow } from '../models/model-cache.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';
import { formatMib } from '../format-bytes.js';

/** `echolog models list|pull|path`: functions that return data; the `print…` functions show it. */
type ModelsSurroundings = Pick<Surroundings, 'env' | 'home' | 'cwd'>;

export interface ModelsListResult {
  cacheDir: string;
  models: CachedModelRow[];
}

export function listModels(surroundings: ModelsSurroundings): ModelsListResult {
  const cacheDir = modelsCacheDir(surroundings.env, surroundings.home);
  return { cacheDir, models: listCachedModels(cacheDir) };
}

export interface PullModelOptions {
  name: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface PullModelResult {
  name: string;
  path: string;
  url: string;
  bytes: number;
  /** True when the model was already in the cache and nothing was downloaded. */
  alreadyPresent: boolean;
  resumedFromBytes: number;
}

/** Downloads a catalog model into the cache (resuming a `.part`), verified by sha256; a no-op when it is there. */
export async function pullModel(options: PullModelOptions, surroundings: ModelsSurroundings): Promise<PullModelResult> {
  const entry = requireModel(options.name);
  const location = locateModel(entry.name, surroundings);
  const url = modelUrl(entry, surroundings.env);
  if (location.exists)
    return { name: entry.name, path: location.path, url, bytes: entry.sizeBytes, alreadyPresent: true, resumedFromBytes: 0 };
  const result = await downloadVerified({
    url,
    destination: location.path,
    sha256: entry.sha256,
    sizeBytes: entry.sizeBytes,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  return {
    name: entry.name,
    path: result.path,
    url,
    bytes: result.bytes,
    alreadyPresent: false,
    resumedFromBytes: result.resumedFromBytes,
  };
}

/** `models list --json`: snake_case keys. */
export function modelsListJson(result: ModelsListResult): unknown {
  return {
    cache_dir: result.cacheDir,
    models: result.models.map((m) => ({
      name: m.name,
      file: m.file,
      size_bytes: m.sizeBytes,
      english_only: m.englishOnly,
      installed: m.installed,
      path: m.path,
    })),
  };
}

export function formatModelsList(result: ModelsListResult): string {
  const rows = result.models.map(
    (m) =>
      `${m.installed ? '*' : ' '} ${m.name.padEnd(9)} ${formatMib(m.sizeBytes).padStart(9)}  ${m.englishOnly ? 'English' : 'multilingual'}`,
  );
  return [`models in ${result.cacheDir} (* = downloaded):`, ...rows, ''].join('\n');
}

/**
 * Download progress: on a TTY one line redrawn in place (a bar, bytes, percent; at most ten
 * redraws a second), else a plain line at every 10 %. Written to stderr so stdout carries only
 * the resulting path. (An ora spinner here stalled the transfer on a real terminal after a few
 * MB — seen with ora 9 while updating its text per received chunk — so this draws its own line.)
 */
export function createDownloadProgress(
  name: string,
  stream: Writable & { isTTY?: boolean },
  now: () => number = Date.now,
): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  let announcedResume = false;
  let latest: DownloadProgress | undefined;
  const text = (p: DownloadProgress): string => {
    const percent = p.totalBytes ? ` (${Math.floor((p.receivedBytes / p.totalBytes) * 100)}%)` : '';
    return `Downloading ${name}: ${formatMib(p.receivedBytes)}${p.totalBytes ? ` of ${formatMib(p.totalBytes)}` : ''}${percent}`;
  };
  const draw = (p: DownloadProgress): void => {
    const filled = p.totalBytes ? Math.round((p.receivedBytes / p.totalBytes) * 20) : 0;
    stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${text(p)}\x1b[K`);
    drawn = true;
    lastDraw = now();
  };
  return {
    onProgress(p) {
      latest = p;
      if (!announcedResume && p.resumedFromBytes > 0) {
        announcedResume = true;
        stream.write(`Resuming ${name} from ${formatMib(p.resumedFromBytes)}\n`);
      }
      if (stream.isTTY) {
        if (now() - lastDraw >= 100 || p.receivedBytes === p.totalBytes) draw(p);
        return;
      }
      const decile = p.totalBytes ? Math.floor((p.receivedBytes / p.totalBytes) * 10) : -1;
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${text(p)}\n`);
      }
    },
    stop() {
      if (!stream.isTTY || !latest) return;
      if (!drawn || latest.receivedBytes !== latest.totalBytes) draw(latest);
      stream.write('\n');
    },
  };
}

export async function modelsListCommand(options: { json?: boolean }, surroundings: Surroundings): Promise<number> {
  const result = listModels(surroundings);
  surroundings.stdout.write(options.json ? formatJson(modelsListJson(result)) : formatModelsList(result));
  return 0;
}

export async function modelsPullCommand(options: { name: string }, surroundings: Surroundings): Promise<number> {
  const progress = createDownloadProgress(options.name, surroundings.stderr as Writable & { isTTY?: boolean });
  let result: PullModelResult;
  try {
    result = await pullModel({ name: options.name, onProgress: progress.onProgress }, surroundings);
  } finally {
    progress.stop();
  }
  if (result.alreadyPresent) surroundings.stderr.write(`${result.name} is already downloaded\n`);
  surroundings.stdout.write(`${result.path}\n`);
  return 0;
}

/** Prints the path; exit code 1 (with a hint on stderr) when the file is not there yet. */
export async function modelsPathCommand(options: { spec: string }, surroundings: Surroundings): Promise<number> {
  const location = locateModel(options.spec, surroundings);
  surroundings.stdout.write(`${location.path}\n`);
  if (location.exists) return 0;
  surroundings.stderr.write(
    location.kind === 'name'
      ? `echolog: ${location.spec} is not downloaded yet: run \`echolog models pull ${location.spec}\`\n`
      : `echolog: no such file: ${location.path}\n`,
  );
  return 1;
}

import { UsageError } from '../errors.js';

/**
 * The whisper.cpp ggml models echolog knows how to download, from the Hugging Face repository
 * ggerganov/whisper.cpp (the one whisper.cpp's own models/download-ggml-model.sh uses).
 *
 * Checksums: `sha256` is the file's Git LFS object id on Hugging Face; `sha1` is the value in
 * whisper.cpp's models/README.md. Neither could be verified by downloading here (no network to
 * Hugging Face from the machine this was written on). Each sha256 and size below was found
 * identical in many unrelated public projects that pin these files, and the SHA-1 values in
 * several copies of whisper.cpp's README; a model whose checksum could not be corroborated that
 * way is not listed. The downloader verifies the sha256, and the size as it goes.
 */
export interface ModelEntry {
  /** The name users type: `tiny.en`, `base`, … */
  name: string;
  /** File name in the upstream repository and in the cache. */
  file: string;
  sizeBytes: number;
  sha256: string;
  sha1: string;
  /** English-only models end in `.en`; the others are multilingual. */
  englishOnly: boolean;
}

export const DEFAULT_MODELS_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';

/** Environment variable that replaces DEFAULT_MODELS_BASE_URL (a mirror, or a local server in tests). */
export const MODELS_BASE_URL_ENV = 'ECHOLOG_MODELS_BASE_URL';

export const MODEL_CATALOG: readonly ModelEntry[] = [
  {
    name: 'tiny.en',
    file: 'ggml-tiny.en.bin',
    sizeBytes: 77_704_715,
    sha256: '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f',
    sha1: 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df',
    englishOnly: true,
  },
  {
    name: 'tiny',
    file: 'ggml-tiny.bin',
    sizeBytes: 77_691_713,
    sha256: 'be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21',
    sha1: 'bd577a113a864445d4c299885e0cb97d4ba92b5f',
    englishOnly: false,
  },
  {
    name: 'base.en',
    file: 'ggml-base.en.bin',
    sizeBytes: 147_964_211,
    sha256: 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002',
    sha1: '137c40403d78fd54d454da0f9bd998f78703390c',
    englishOnly: true,
  },
  {
    name: 'base',
    file: 'ggml-base.bin',
    sizeBytes: 147_951_465,
    sha256: '60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe',
    sha1: '465707469ff3a37a2b9b8d8f89f2f99de7299dac',
    englishOnly: false,
  },
  {
    name: 'small.en',
    file: 'ggml-small.en.bin',
    sizeBytes: 487_614_201,
    sha256: 'c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d',
    sha1: 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022',
    englishOnly: true,
  },
  {
    name: 'small',
    file: 'ggml-small.bin',
    sizeBytes: 487_601_967,
    sha256: '1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b',
    sha1: '55356645c2b361a969dfd0ef2c5a50d530afd8d5',
    englishOnly: false,
  },
];

export function findModel(name: string): ModelEntry | undefined {
  return MODEL_CATALOG.find((entry) => entry.name === name);
}

/** The catalog entry for a name, or a usage error that lists the names there are. */
export function requireModel(name: string): ModelEntry {
  const entry = findModel(name);
  if (!entry) {
    throw new UsageError(`unknown model '${name}'; known models: ${MODEL_CATALOG.map((m) => m.name).join(', ')}`);
  }
  return entry;
}

/** Where to download a model from: the base URL (env override or default) plus its file name. */
export function modelUrl(entry: ModelEntry, env: NodeJS.ProcessEnv): string {
  const base = (env[MODELS_BASE_URL_ENV] || DEFAULT_MODELS_BASE_URL).replace(/\/+$/, '');
  return `${base}/${entry.file}`;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatModelsList, listModels } from '../src/cli/models-command.js';
import { UsageError } from '../src/errors.js';
import { DEFAULT_MODELS_BASE_URL, findModel, MODEL_CATALOG, modelUrl, requireModel } from '../src/models/catalog.js';
import { contentRangeStart } from '../src/models/download.js';
import { cachedModelPath, isModelPath, locateModel, modelsCacheDir } from '../src/models/model-cache.js';

describe('model catalog', () => {
  it('has the six standard models with their upstream file names, sizes and 64-hex sha256', () => {
    expect(MODEL_CATALOG.map((m) => m.name)).toEqual(['tiny.en', 'tiny', 'base.en', 'base', 'small.en', 'small']);
    for (const m of MODEL_CATALOG) {
      expect(m.file).toBe(`ggml-${m.name}.bin`);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.sha1).toMatch(/^[0-9a-f]{40}$/);
      expect(m.englishOnly).toBe(m.name.endsWith('.en'));
      expect(m.sizeBytes).toBeGreaterThan(70_000_000);
    }
    expect(new Set(MODEL_CATALOG.map((m) => m.sha256)).size).toBe(MODEL_CATALOG.length);
  });

  it('finds a model by name; an unknown name is a usage error listing the known ones', () => {
    expect(findModel('base.en')?.sizeBytes).toBe(147_964_211);
    expect(findModel('medium')).toBeUndefined();
    expect(() => requireModel('large')).toThrow(UsageError);
    expect(() => requireModel('large')).toThrow("unknown model 'large'; known models: tiny.en, tiny, base.en, base, small.en, small");
  });

  it('downloads from Hugging Face unless ECHOLOG_MODELS_BASE_URL says otherwise', () => {
    const tiny = requireModel('tiny.en');
    expect(modelUrl(tiny, {})).toBe(`${DEFAULT_MODELS_BASE_URL}/ggml-tiny.en.bin`);
    expect(DEFAULT_MODELS_BASE_URL).toBe('https://huggingface.co/ggerganov/whisper.cpp/resolve/main');
    expect(modelUrl(tiny, { ECHOLOG_MODELS_BASE_URL: 'http://127.0.0.1:8080/m/' })).toBe('http://127.0.0.1:8080/m/ggml-tiny.en.bin');
    expect(modelUrl(tiny, { ECHOLOG_MODELS_BASE_URL: '' })).toBe(`${DEFAULT_MODELS_BASE_URL}/ggml-tiny.en.bin`);
  });
});

describe('model cache dir', () => {
  it('is $XDG_CACHE_HOME/echolog/models, else ~/.cache/echolog/models; a relative XDG_CACHE_HOME is ignored', () => {
    expect(modelsCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u')).toBe('/x/cache/echolog/models');
    expect(modelsCacheDir({}, '/home/u')).toBe('/home/u/.cache/echolog/models');
    expect(modelsCacheDir({ XDG_CACHE_HOME: 'rel/cache' }, '/home/u')).toBe('/home/u/.cache/echolog/models');
    expect(cachedModelPath('tiny.en', '/c')).toBe('/c/ggml-tiny.en.bin');
    expect(cachedModelPath('medium.en', '/c')).toBe('/c/ggml-medium.en.bin');
  });

  it('tells a model name from a path', () => {
    expect(['tiny.en', 'base', 'small.en', 'medium'].map(isModelPath)).toEqual([false, false, false, false]);
    expect(['./m.bin', '~/m', '/abs/model', 'models/x', 'ggml-custom.bin'].map(isModelPath)).toEqual([true, true, true, true, true]);
  });

  it('locates a name in the cache and a path relative to cwd or home, and says whether it exists', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-locate-'));
    try {
      const options = { env: { XDG_CACHE_HOME: path.join(root, 'cache') }, home: path.join(root, 'home'), cwd: path.join(root, 'cwd') };
      const cacheDir = path.join(root, 'cache', 'echolog', 'models');
      expect(locateModel('tiny.en', options)).toMatchObject({ kind: 'name', path: path.join(cacheDir, 'ggml-tiny.en.bin'), exists: false });
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(path.join(cacheDir, 'ggml-tiny.en.bin'), '');
      expect(locateModel('tiny.en', options)).toMatchObject({ exists: true, entry: { name: 'tiny.en' } });
      expect(locateModel('./m.bin', options)).toMatchObject({ kind: 'path', path: path.join(root, 'cwd', 'm.bin'), exists: false });
      expect(locateModel('~/m.bin', options).path).toBe(path.join(root, 'home', 'm.bin'));

      const listed = listModels({ ...options });
      expect(listed.cacheDir).toBe(cacheDir);
      expect(listed.models.filter((m) => m.installed).map((m) => m.name)).toEqual(['tiny.en']);
      expect(formatModelsList(listed).split('\n').slice(0, 3)).toEqual([
        `models in ${cacheDir} (* = downloaded):`,
        '* tiny.en    74.1 MiB  English',
        '  tiny       74.1 MiB  multilingual',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('Content-Range', () => {
  it('reads the first byte of a byte range', () => {
    expect(contentRangeStart('bytes 100-199/200')).toBe(100);
    expect(contentRangeStart('bytes 0-9/*')).toBe(0);
    expect(contentRangeStart('bytes */200')).toBeUndefined();
    expect(contentRangeStart(null)).toBeUndefined();
  });
});

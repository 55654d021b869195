import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandbox, REPO } from './helpers/cli.js';

interface PackedFile {
  path: string;
}

/** What `npm pack` would publish, as npm itself lists it. Scripts are off: `npm test` has built dist, and a rebuild here would rewrite files other tests are running. */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(out) as Array<{ files: PackedFile[] }>;
  return pack!.files.map((f) => f.path).sort();
}

const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Record<string, any>;

describe('the published package', () => {
  it('ships the CLI, its build, the licence and the example config, and nothing of src or test', () => {
    const files = packedFiles();
    expect(files).toEqual(
      // bin/package.json makes bin/echolog CommonJS: without it the bin would load as ESM and fail to start.
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'bin/echolog',
        'bin/package.json',
        'dist/index.js',
        'echolog.conf.example',
        'package.json',
      ]),
    );
    // A source map pointing at src/ would dangle: src/ is not shipped.
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/'))).toEqual([]);
  });

  it('names its licence, repository and keywords', () => {
    expect(manifest.license).toBe('MIT');
    expect(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(manifest.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(manifest.keywords).toEqual(expect.arrayContaining(['audio', 'ffmpeg', 'transcription']));
  });

  it('runs no script when installed from the tarball: the build happens in prepack', () => {
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts[script], script).toBeUndefined();
    expect(manifest.scripts.prepack).toBe('npm run build');
    expect(manifest.scripts.build).toMatch(/^tsc -p tsconfig\.json && node scripts\/bundle\.mjs$/);
  });

  it('keeps whisper, ffmpeg-static and koffi out of the default install: optional peers the user adds', () => {
    expect(manifest.optionalDependencies).toBeUndefined();
    for (const name of ['@napi-rs/whisper', 'ffmpeg-static', 'koffi']) {
      expect(manifest.dependencies[name], name).toBeUndefined();
      expect(manifest.peerDependencies[name], name).toBeDefined();
      expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
    }
  });
});

describe('bin/echolog before a build', () => {
  const box = makeSandbox();
  afterAll(() => box.cleanup());
  const copyBin = (into: string): string => {
    fs.cpSync(path.join(REPO, 'bin'), path.join(into, 'bin'), { recursive: true });
    return path.join(into, 'bin', 'echolog');
  };

  it('without dist/: says to build, in one line, exit 1', () => {
    const bin = copyBin(path.join(box.root, 'unbuilt'));
    const result = spawnSync(bin, ['status'], { encoding: 'utf8', env: box.env });
    expect(result.stderr).toBe('echolog: not built yet (no dist/bundle/index.cjs): run `npm run build` in the echolog folder first\n');
    expect(result.status).toBe(1);
  });

  it('a bundle missing one of its chunks is not taken for an unbuilt clone: the module error is thrown as is', () => {
    const root = path.join(box.root, 'torn');
    const bin = copyBin(root);
    fs.mkdirSync(path.join(root, 'dist', 'bundle'), { recursive: true });
    fs.writeFileSync(path.join(root, 'dist', 'bundle', 'index.cjs'), "require('./core-missing.cjs');\n");
    const result = spawnSync(bin, ['status'], { encoding: 'utf8', env: box.env });
    expect(result.stderr).toContain("Cannot find module './core-missing.cjs'");
    expect(result.stderr).not.toContain('not built yet');
    expect(result.status).not.toBe(0);
  });
});

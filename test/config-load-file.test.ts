import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { foldersUpwards, loadConfigFile, userConfigPath, type LoadConfigFileOptions } from '../src/config/load-config-file.js';
import { ConfigError } from '../src/errors.js';
import { runCliAsNobody } from './helpers/second-account.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'config');

/** home/ and home/project/sub inside a temp root; the search starts in sub. */
let root: string;
let home: string;
let project: string;
let sub: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'echolog-config-'));
  home = path.join(root, 'home');
  project = path.join(home, 'project');
  sub = path.join(project, 'sub');
  fs.mkdirSync(sub, { recursive: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
  fs.rmSync(root, { recursive: true, force: true });
});

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function load(overrides: Partial<LoadConfigFileOptions> = {}) {
  return loadConfigFile({ cwd: sub, home, env: { XDG_CONFIG_HOME: path.join(home, '.config') }, ...overrides });
}

async function loadError(overrides: Partial<LoadConfigFileOptions> = {}): Promise<ConfigError> {
  const error = await load(overrides).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('where echolog looks for its config', () => {
  it.each([
    ['echolog.conf', 'logging:\n  level: debug\n'],
    ['.echologrc', 'logging:\n  level: debug\n'],
    ['.echologrc.json', '{"logging": {"level": "debug"}}'],
    ['.echologrc.yaml', 'logging:\n  level: debug\n'],
    ['.echologrc.yml', 'logging:\n  level: debug\n'],
    ['package.json', '{"name": "x", "echolog": {"logging": {"level": "debug"}}}'],
  ])('reads %s', async (name, text) => {
    const file = write(path.join(sub, name), text);
    expect(await load()).toEqual({ path: file, values: { logging: { level: 'debug' } } });
  });

  it('prefers echolog.conf to the other names in the same folder', async () => {
    const conf = write(path.join(sub, 'echolog.conf'), 'a: 1\n');
    write(path.join(sub, '.echologrc'), 'b: 1\n');
    write(path.join(sub, 'package.json'), '{"echolog": {"c": 1}}');
    expect((await load())?.path).toBe(conf);
  });

  it('skips a package.json without an echolog key', async () => {
    write(path.join(sub, 'package.json'), '{"name": "x"}');
    const conf = write(path.join(project, 'echolog.conf'), 'a: 1\n');
    expect((await load())?.path).toBe(conf);
  });

  it('searches from the cwd upwards, nearest first, up to the home folder', async () => {
    const atHome = write(path.join(home, 'echolog.conf'), 'a: home\n');
    expect((await load())?.path).toBe(atHome);
    const inProject = write(path.join(project, 'echolog.conf'), 'a: project\n');
    expect((await load())?.path).toBe(inProject);
  });

  it('does not look above the home folder when the cwd is inside it', async () => {
    write(path.join(root, 'echolog.conf'), 'a: above home\n');
    expect(await load()).toBeUndefined();
  });

  it('walks up to the root when the cwd is outside the home folder', () => {
    expect(foldersUpwards('/a/b/c', '/home/u')).toEqual(['/a/b/c', '/a/b', '/a', '/']);
    expect(foldersUpwards('/home/u/p/q', '/home/u')).toEqual(['/home/u/p/q', '/home/u/p', '/home/u']);
    expect(foldersUpwards('/home/u', '/home/u')).toEqual(['/home/u']);
  });

  it('falls back to $XDG_CONFIG_HOME/echolog/echolog.conf', async () => {
    const xdg = path.join(root, 'xdg');
    const file = write(path.join(xdg, 'echolog', 'echolog.conf'), 'a: 1\n');
    expect(await load({ env: { XDG_CONFIG_HOME: xdg } })).toEqual({ path: file, values: { a: 1 } });
  });

  it('falls back to ~/.config/echolog/echolog.conf when XDG_CONFIG_HOME is unset or relative', async () => {
    const file = write(path.join(home, '.config', 'echolog', 'echolog.conf'), 'a: 1\n');
    expect((await load({ env: {} }))?.path).toBe(file);
    expect((await load({ env: { XDG_CONFIG_HOME: 'relative/dir' } }))?.path).toBe(file);
    expect(userConfigPath({ XDG_CONFIG_HOME: 'relative/dir' }, '/h')).toBe('/h/.config/echolog/echolog.conf');
  });

  it('prefers a config found upwards to the user config', async () => {
    write(path.join(home, '.config', 'echolog', 'echolog.conf'), 'a: user\n');
    const conf = write(path.join(project, 'echolog.conf'), 'a: project\n');
    expect((await load())?.path).toBe(conf);
  });

  it("reads only the user file in the user config folder, not cosmiconfig's global config.yaml", async () => {
    write(path.join(home, '.config', 'echolog', 'config.yaml'), 'a: 1\n');
    write(path.join(home, '.config', 'echolog', 'config'), 'a: 1\n');
    expect(await load()).toBeUndefined();
  });

  it('never reads the real HOME or XDG_CONFIG_HOME of the process', async () => {
    // cosmiconfig's 'global' strategy would look in env-paths' config dir, taken from process.env.
    const real = path.join(root, 'real-home');
    write(path.join(real, '.config', 'echolog', 'echolog.conf'), 'a: 1\n');
    write(path.join(real, '.config', 'echolog', 'config.yaml'), 'a: 1\n');
    vi.stubEnv('HOME', real);
    vi.stubEnv('XDG_CONFIG_HOME', path.join(real, '.config'));
    expect(await load()).toBeUndefined();
  });

  it('returns undefined when there is no config anywhere', async () => {
    expect(await load()).toBeUndefined();
  });
});

describe('--config', () => {
  it('reads exactly that file, relative to the cwd, whatever its name, as YAML', async () => {
    write(path.join(sub, 'echolog.conf'), 'a: ignored\n');
    const file = write(path.join(sub, 'my.settings'), 'logging: {level: error}\n');
    expect(await load({ explicitPath: 'my.settings' })).toEqual({ path: file, values: { logging: { level: 'error' } } });
  });

  it('reads a .json file as JSON', async () => {
    const file = write(path.join(root, 'c.json'), '{"a": 1}');
    expect(await load({ explicitPath: file })).toEqual({ path: file, values: { a: 1 } });
  });

  it('is an error when the file does not exist, naming the resolved path', async () => {
    const error = await loadError({ explicitPath: 'missing.conf' });
    expect(error.message).toBe(`--config missing.conf: file not found (${path.join(sub, 'missing.conf')})`);
    expect(error.exitCode).toBe(2);
  });

  it('is an error when it is a directory', async () => {
    expect((await loadError({ explicitPath: project })).message).toBe(`config file ${project} is a directory`);
  });

  it('is an error when it is a package.json without an echolog key', async () => {
    const file = write(path.join(sub, 'package.json'), '{"name": "x"}');
    expect((await loadError({ explicitPath: 'package.json' })).message).toBe(`--config package.json: ${file} has no "echolog" key`);
  });

  it('is an error when it cannot be read', async () => {
    const file = write(path.join(sub, 'locked.conf'), 'a: 1\n');
    fs.chmodSync(file, 0o000);
    const expected = `cannot read config file ${escape(file)}: EACCES`;
    if (process.getuid?.() !== 0) {
      expect((await loadError({ explicitPath: file })).message).toMatch(new RegExp(`^${expected}`));
      return;
    }
    // root reads any file, whatever its mode (and CI runs as root): the built CLI loads it as a
    // second account, `nobody`, for whom the folders are open and the file is not.
    fs.chmodSync(root, 0o755);
    const result = await runCliAsNobody(root, sub, ['config', '--config', file]);
    expect(result.stderr).toMatch(new RegExp(`^echolog: ${expected}`));
    expect(result.code).toBe(2);
  });

  it('refuses code: a .js or .ts config would be executed', async () => {
    write(path.join(sub, 'echolog.config.js'), 'throw new Error("executed")');
    expect((await loadError({ explicitPath: 'echolog.config.js' })).message).toMatch(/reads YAML or JSON config files, not code/);
  });
});

describe('file contents', () => {
  it.each(['', '\n\n', '# only comments\n# logging:\n#   level: debug\n', '~\n'])(
    'an empty or comment-only file (%j) is a config that sets nothing',
    async (text) => {
      const file = write(path.join(sub, 'echolog.conf'), text);
      // Found, so the search stops here and `echolog config` names it.
      write(path.join(home, '.config', 'echolog', 'echolog.conf'), 'a: user\n');
      expect(await load()).toEqual({ path: file, values: {} });
    },
  );

  it('an empty --config file is a config that sets nothing', async () => {
    expect(await load({ explicitPath: path.join(FIXTURES, 'comment-only.conf') })).toEqual({
      path: path.join(FIXTURES, 'comment-only.conf'),
      values: {},
    });
  });

  it('passes a document that is not a mapping on, for validation to reject', async () => {
    const loaded = await load({ explicitPath: path.join(FIXTURES, 'not-a-mapping.conf') });
    expect(loaded?.values).toEqual(['logging', { level: 'debug' }]);
  });

  it('a YAML syntax error names the file, line and column and shows the line', async () => {
    const file = path.join(FIXTURES, 'bad-syntax.conf');
    const error = await loadError({ explicitPath: file });
    // js-yaml reports the column where it gave up, which is past the indented key.
    expect(error.message.split('\n')[0]).toMatch(new RegExp(`^${escape(file)}:3:\\d+: invalid YAML: bad indentation of a mapping entry$`));
    expect(error.message).toContain('3 |    rotation: size');
  });

  it('a YAML syntax error found by the search names the file and line', async () => {
    const file = write(path.join(project, '.echologrc'), 'logging:\n  level: debug\nlogging:\n  level: info\n');
    expect((await loadError()).message.split('\n')[0]).toBe(`${file}:3:1: invalid YAML: duplicated mapping key`);
  });

  it('a JSON syntax error names the file, line and column', async () => {
    const file = write(path.join(sub, '.echologrc.json'), '{\n  "logging": {"level": "debug"},\n}\n');
    expect((await loadError()).message).toMatch(new RegExp(`^${escape(file)}:3:1: invalid JSON: `));
  });

  it('a broken package.json on the way up is an error naming it', async () => {
    const file = write(path.join(project, 'package.json'), '{"name": ');
    expect((await loadError()).message).toMatch(new RegExp(`^${escape(file)}:1:\\d+: invalid JSON: `));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

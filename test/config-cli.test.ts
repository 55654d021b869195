import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigRow } from '../src/cli/config-command.js';
import { flattenToDotted } from '../src/config/dotted-keys.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { makeSandbox, runCli } from './helpers/cli.js';

/**
 * The config surface through the built CLI, in a sandbox whose HOME and XDG dirs are temp folders.
 * `echolog config` and `record --dry-run` observe the effective config without recording anything.
 */
const sandbox = makeSandbox();
/** The cwd of every run: inside the sandbox home, so the upward search stops at the sandbox home. */
const project = path.join(sandbox.home, 'project');
const projectConf = path.join(project, 'echolog.conf');
const fakeFfmpeg = path.join(sandbox.root, 'fake-ffmpeg');

beforeAll(() => {
  fs.mkdirSync(project);
  fs.writeFileSync(fakeFfmpeg, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});
afterAll(() => sandbox.cleanup());

function writeProjectConf(text: string): void {
  fs.writeFileSync(projectConf, text);
}

function echolog(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env: sandbox.env, home: sandbox.home, cwd: project }, env);
}

async function configJson(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ config_file: string | null; rows: Record<string, ConfigRow> }> {
  const result = await echolog(['config', '--json', ...args], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const parsed = JSON.parse(result.stdout) as { config_file: string | null; values: ConfigRow[] };
  return { config_file: parsed.config_file, rows: Object.fromEntries(parsed.values.map((row) => [row.key, row])) };
}

describe('echolog config', () => {
  it('shows every key with its default when nothing is set (the sandbox sets two variables)', async () => {
    fs.rmSync(projectConf, { force: true });
    const { config_file, rows } = await configJson();
    expect(config_file).toBeNull();
    expect(Object.keys(rows)).toEqual(Object.keys(flattenToDotted(DEFAULT_CONFIG)));
    expect(rows['logging.level']).toEqual({ key: 'logging.level', value: 'info', source: 'default' });
    expect(rows['recordings_dir']).toEqual({
      key: 'recordings_dir',
      value: sandbox.recordings,
      source: 'env',
      set_by: 'ECHOLOG_RECORDINGS_DIR',
    });
  });

  it('shows each source: default, file, env, flag, and what a higher layer overrode', async () => {
    writeProjectConf('logging:\n  level: error\n  rotation: off\nffmpeg:\n  path: /opt/ffmpeg\n');
    const { config_file, rows } = await configJson(['--log-level', 'debug'], { ECHOLOG_LOG_LEVEL: 'warning', ECHOLOG_FFMPEG: fakeFfmpeg });
    expect(config_file).toBe(projectConf);
    expect(rows['logging.max_bytes']).toEqual({ key: 'logging.max_bytes', value: 5242880, source: 'default' });
    expect(rows['logging.rotation']).toEqual({ key: 'logging.rotation', value: 'off', source: 'file', set_by: projectConf });
    expect(rows['ffmpeg.path']).toEqual({
      key: 'ffmpeg.path',
      value: fakeFfmpeg,
      source: 'env',
      set_by: 'ECHOLOG_FFMPEG',
      overrides: [{ source: 'file', setBy: projectConf, value: '/opt/ffmpeg' }],
    });
    expect(rows['logging.level']).toEqual({
      key: 'logging.level',
      value: 'debug',
      source: 'flag',
      set_by: '--log-level',
      overrides: [
        { source: 'env', setBy: 'ECHOLOG_LOG_LEVEL', value: 'warning' },
        { source: 'file', setBy: projectConf, value: 'error' },
      ],
    });
  });

  it('prints the same as a table', async () => {
    writeProjectConf('logging:\n  level: error\n  rotation: off\nffmpeg:\n  path: /opt/ffmpeg\n');
    const result = await echolog(['config', '--log-level', 'debug'], { ECHOLOG_LOG_LEVEL: 'warning', ECHOLOG_FFMPEG: fakeFfmpeg });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').map((line) => line.replace(/\s+/g, ' ').trim());
    expect(lines[0]).toBe(`# config file: ${projectConf}`);
    expect(lines).toContain(`ffmpeg.path "${fakeFfmpeg}" env ECHOLOG_FFMPEG (overrides file "/opt/ffmpeg")`);
    expect(lines).toContain('logging.level "debug" flag --log-level (overrides env ECHOLOG_LOG_LEVEL "warning", file "error")');
    expect(lines).toContain('logging.rotation "off" file');
    expect(lines).toContain('logging.max_bytes 5242880 default');
  });

  it('finds the user config in $XDG_CONFIG_HOME/echolog/echolog.conf, and --config wins over every file', async () => {
    fs.rmSync(projectConf, { force: true });
    const userConf = path.join(sandbox.env.XDG_CONFIG_HOME!, 'echolog', 'echolog.conf');
    fs.mkdirSync(path.dirname(userConf), { recursive: true });
    fs.writeFileSync(userConf, 'logging:\n  backup_count: 7\n');
    try {
      const user = await configJson();
      expect(user.config_file).toBe(userConf);
      expect(user.rows['logging.backup_count']).toMatchObject({ value: 7, source: 'file' });

      const explicit = path.join(sandbox.root, 'other.yaml');
      fs.writeFileSync(explicit, 'logging:\n  backup_count: 9\n');
      const chosen = await configJson(['--config', explicit]);
      expect(chosen.config_file).toBe(explicit);
      expect(chosen.rows['logging.backup_count']).toMatchObject({ value: 9, source: 'file' });
    } finally {
      fs.rmSync(userConf);
    }
  });
});

describe('precedence through record --dry-run: flag > env > file > default', () => {
  const levelOf = (stdout: string) => /^log:\s+level=(\w+)/m.exec(stdout)?.[1];
  const dryRun = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    echolog(['record', '--dry-run', '--input-format', 'lavfi', '--input', 'sine', ...args], env);

  it.each<[string, string[], NodeJS.ProcessEnv, string, string]>([
    ['default', [], {}, '', 'info'],
    ['file over default', [], {}, 'logging:\n  level: error\n', 'error'],
    ['env over file', [], { ECHOLOG_LOG_LEVEL: 'warning' }, 'logging:\n  level: error\n', 'warning'],
    ['flag over env and file', ['--log-level', 'debug'], { ECHOLOG_LOG_LEVEL: 'warning' }, 'logging:\n  level: error\n', 'debug'],
  ])('%s', async (_name, args, env, conf, expected) => {
    writeProjectConf(conf);
    const result = await dryRun(args, env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(levelOf(result.stdout)).toBe(expected);
  });

  it('runs the ffmpeg of ECHOLOG_FFMPEG over ffmpeg.path in the file', async () => {
    writeProjectConf('ffmpeg:\n  path: /nonexistent/ffmpeg\n');
    const result = await dryRun([], { ECHOLOG_FFMPEG: fakeFfmpeg });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^ffmpeg:\\s+${fakeFfmpeg}`, 'm'));
    expect(result.stdout).toContain(`command:\n  ${fakeFfmpeg} `);
  });
});

describe('config errors exit 2 and name the culprit, before anything is created', () => {
  it.each<[string, string, string[], NodeJS.ProcessEnv, RegExp]>([
    [
      'a bad value in the file',
      'recording:\n  sample_rate: 4000\n',
      [],
      {},
      /^echolog: config file .*\/project\/echolog\.conf: recording\.sample_rate: 4000 is not allowed: expected a whole number from 8000 to 192000$/,
    ],
    [
      'an unknown key in the file',
      'logging:\n  levle: debug\n',
      [],
      {},
      /^echolog: config file .*\/project\/echolog\.conf: unknown key logging\.levle: did you mean logging\.level\?/,
    ],
    ['a YAML syntax error', 'logging:\n  level: [debug\n', [], {}, /^echolog: .*\/project\/echolog\.conf:\d+:\d+: invalid YAML: /],
    [
      'a bad environment variable',
      '',
      [],
      { ECHOLOG_LOG_LEVEL: 'verbose' },
      /^echolog: environment: ECHOLOG_LOG_LEVEL=verbose is not allowed: expected one of debug, info, warning, error$/,
    ],
    [
      'a bad flag value',
      '',
      ['--log-rotation', 'weekly'],
      {},
      /^echolog: option --log-rotation weekly is not allowed: expected one of size, time, off$/,
    ],
  ])('%s', async (_name, conf, args, env, message) => {
    writeProjectConf(conf);
    // record, because it must refuse before creating anything; `config` goes through the same loader.
    const result = await echolog(['record', '--input-format', 'lavfi', '--input', 'sine', '--duration', '1', ...args], env);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(fs.existsSync(sandbox.recordings) ? fs.readdirSync(sandbox.recordings) : []).toEqual([]);
  });

  it('--config naming a missing file', async () => {
    const result = await echolog(['config', '--config', 'nope.conf']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`echolog: --config nope.conf: file not found (${path.join(project, 'nope.conf')})\n`);
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flattenToDotted, setDotted } from '../src/config/dotted-keys.js';
import { ENV_KEYS, envOverrides } from '../src/config/env-overrides.js';
import { loadConfigFile } from '../src/config/load-config-file.js';
import { allowedFor, CONFIG_JSON_SCHEMA, resolveConfig, type ConfigLayers } from '../src/config/resolve-config.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { ConfigError, UsageError } from '../src/errors.js';

const FILE = '/home/u/echolog.conf';
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'config');

function errorOf(layers: ConfigLayers): Error {
  try {
    resolveConfig(layers);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected resolveConfig to throw');
}

const fileError = (values: unknown) => errorOf({ file: { path: FILE, values } }).message;

describe('precedence: flag > env > file > default', () => {
  const layers: ConfigLayers = {
    file: {
      path: FILE,
      values: { logging: { level: 'error', rotation: 'off' }, ffmpeg: { path: '/opt/ffmpeg' }, recording: { channels: 2 } },
    },
    env: envOverrides({ ECHOLOG_LOG_LEVEL: 'warning', ECHOLOG_FFMPEG: '/usr/bin/ffmpeg' }),
    flags: { 'logging.level': 'debug' },
    flagNames: { 'logging.level': '--log-level' },
  };
  const resolved = resolveConfig(layers);

  it('takes each key from the highest layer that sets it', () => {
    expect(resolved.config.logging.level).toBe('debug');
    expect(resolved.config.ffmpeg.path).toBe('/usr/bin/ffmpeg');
    expect(resolved.config.logging.rotation).toBe('off');
    expect(resolved.config.recording.channels).toBe(2);
    expect(resolved.config.recording.sample_rate).toBe(16000);
  });

  it('records the source of every key', () => {
    expect(resolved.sources).toMatchObject({
      'logging.level': 'flag',
      'ffmpeg.path': 'env',
      'logging.rotation': 'file',
      'recording.channels': 'file',
      'recording.sample_rate': 'default',
    });
    expect(Object.keys(resolved.sources).sort()).toEqual(Object.keys(flattenToDotted(DEFAULT_CONFIG)).sort());
  });

  it('keeps every layer that set a key, the one in force first', () => {
    expect(resolved.settings['logging.level']).toEqual([
      { source: 'flag', setBy: '--log-level', value: 'debug' },
      { source: 'env', setBy: 'ECHOLOG_LOG_LEVEL', value: 'warning' },
      { source: 'file', setBy: FILE, value: 'error' },
    ]);
    // Issue 2 lists "ffmpeg.path in config → ECHOLOG_FFMPEG"; the general rule env > file applies, and shows.
    expect(resolved.settings['ffmpeg.path']).toEqual([
      { source: 'env', setBy: 'ECHOLOG_FFMPEG', value: '/usr/bin/ffmpeg' },
      { source: 'file', setBy: FILE, value: '/opt/ffmpeg' },
    ]);
    expect(resolved.settings['recording.sample_rate']).toBeUndefined();
  });

  it('is all defaults with no layers', () => {
    expect(resolveConfig({})).toMatchObject({ config: DEFAULT_CONFIG, filePath: undefined, settings: {} });
  });

  it('treats a key with no value (YAML null) as left out, sections included', () => {
    const r = resolveConfig({ file: { path: FILE, values: { logging: { level: null, rotation: 'off' }, transcription: null } } });
    expect(r.config.logging).toMatchObject({ level: 'info', rotation: 'off' });
    expect(r.sources['logging.level']).toBe('default');
  });
});

describe('config file errors name the file, the key, the bad value and what is allowed', () => {
  it.each<[string, unknown, string]>([
    [
      'unknown top-level key',
      { colour: 'blue' },
      'unknown key colour (top-level keys: recordings_dir, ffmpeg, recording, logging, transcription)',
    ],
    [
      'unknown nested key, with a guess',
      { logging: { levl: 'debug' } },
      'unknown key logging.levl: did you mean logging.level? (keys of logging: level, rotation, max_bytes, backup_count, time_when, utc, redact_device)',
    ],
    ['unknown nested key, no guess', { ffmpeg: { binary: 'x' } }, 'unknown key ffmpeg.binary (keys of ffmpeg: path, stop_timeout)'],
    ['enum', { logging: { level: 'verbose' } }, 'logging.level: "verbose" is not allowed: expected one of debug, info, warning, error'],
    [
      'enum, wrong type',
      { logging: { time_when: 3 } },
      'logging.time_when: 3 is not allowed: expected one of S, M, H, D, midnight, W0, W1, W2, W3, W4, W5, W6',
    ],
    [
      'number as a string',
      { recording: { sample_rate: '16000' } },
      'recording.sample_rate: "16000" is not allowed: expected a whole number from 8000 to 192000',
    ],
    [
      'int',
      { recording: { sample_rate: 44100.5 } },
      'recording.sample_rate: 44100.5 is not allowed: expected a whole number from 8000 to 192000',
    ],
    ['min', { recording: { channels: 0 } }, 'recording.channels: 0 is not allowed: expected a whole number from 1 to 8'],
    ['max', { logging: { backup_count: 5000 } }, 'logging.backup_count: 5000 is not allowed: expected a whole number from 0 to 1000'],
    ['min only', { logging: { max_bytes: 10 } }, 'logging.max_bytes: 10 is not allowed: expected a whole number >= 1024'],
    ['exclusive min', { ffmpeg: { stop_timeout: 0 } }, 'ffmpeg.stop_timeout: 0 is not allowed: expected a number > 0 and <= 60'],
    [
      'max only',
      { transcription: { silence_threshold_db: 3 } },
      'transcription.silence_threshold_db: 3 is not allowed: expected a number <= 0',
    ],
    [
      'infinite number (YAML .inf)',
      { recording: { segment_time: Infinity } },
      'recording.segment_time: Infinity is not allowed: expected a number > 0 and <= 86400',
    ],
    ['boolean', { logging: { utc: 'yes' } }, 'logging.utc: "yes" is not allowed: expected true or false'],
    ['string', { transcription: { model: 1 } }, 'transcription.model: 1 is not allowed: expected a string'],
    ['empty string', { recordings_dir: '' }, 'recordings_dir: "" is not allowed: expected a non-empty string'],
    [
      'section not a mapping',
      { transcription: 'whisper' },
      'transcription: "whisper" is not allowed: expected a mapping with the keys engine, model, language, ready_timeout, drain_timeout, required, live, silence_threshold_db, max_retries, daemon_timeout, daemon_ipc_root, openai',
    ],
    [
      'file not a mapping',
      ['logging'],
      'the whole file: ["logging"] is not allowed: expected a mapping with the keys recordings_dir, ffmpeg, recording, logging, transcription',
    ],
    [
      'file a scalar',
      'hello',
      'the whole file: "hello" is not allowed: expected a mapping with the keys recordings_dir, ffmpeg, recording, logging, transcription',
    ],
  ])('%s', (_kind, values, expected) => {
    expect(fileError(values)).toBe(`config file ${FILE}: ${expected}`);
  });

  it.each(Object.keys(flattenToDotted(DEFAULT_CONFIG)))('%s: a value of the wrong type says what the key allows', (key) => {
    const values: Record<string, unknown> = {};
    setDotted(values, key, { nested: true });
    expect(fileError(values)).toBe(`config file ${FILE}: ${key}: {"nested":true} is not allowed: expected ${allowedFor(key)}`);
  });

  it('is a ConfigError: exit 2', () => {
    const error = errorOf({ file: { path: FILE, values: { logging: { level: 'verbose' } } } });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it('reports every problem of a file at once, one line each (fixture with one of each kind)', async () => {
    const file = await loadConfigFile({ explicitPath: path.join(FIXTURES, 'every-issue.conf'), cwd: FIXTURES, home: FIXTURES, env: {} });
    const lines = errorOf({ file }).message.split('\n');
    const prefix = `config file ${file!.path}: `;
    expect(lines.every((line) => line.startsWith(prefix))).toBe(true);
    expect(lines.map((line) => line.slice(prefix.length)).sort()).toEqual(
      [
        'unknown key colour (top-level keys: recordings_dir, ffmpeg, recording, logging, transcription)',
        'recordings_dir: "" is not allowed: expected a non-empty string',
        'recording.sample_rate: 44100.5 is not allowed: expected a whole number from 8000 to 192000',
        'recording.channels: 0 is not allowed: expected a whole number from 1 to 8',
        'recording.segment_time: 0 is not allowed: expected a number > 0 and <= 86400',
        'recording.realtime: "yes" is not allowed: expected true or false',
        'unknown key logging.levl: did you mean logging.level? (keys of logging: level, rotation, max_bytes, backup_count, time_when, utc, redact_device)',
        'logging.level: "verbose" is not allowed: expected one of debug, info, warning, error',
        'logging.backup_count: 5000 is not allowed: expected a whole number from 0 to 1000',
        'transcription: "whisper" is not allowed: expected a mapping with the keys engine, model, language, ready_timeout, drain_timeout, required, live, silence_threshold_db, max_retries, daemon_timeout, daemon_ipc_root, openai',
      ].sort(),
    );
  });
});

describe('environment errors name the variable and its value', () => {
  it.each(Object.entries(ENV_KEYS).filter(([, key]) => allowedFor(key)?.startsWith('one of')))(
    '%s with a value outside its enum',
    (variable, key) => {
      const error = errorOf({ env: envOverrides({ [variable]: 'verbose' }) });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`environment: ${variable}=verbose is not allowed: expected ${allowedFor(key)}`);
    },
  );

  it('quotes a value with spaces', () => {
    expect(errorOf({ env: envOverrides({ ECHOLOG_LOG_LEVEL: 'very loud' }) }).message).toBe(
      'environment: ECHOLOG_LOG_LEVEL="very loud" is not allowed: expected one of debug, info, warning, error',
    );
  });

  it('ignores an empty variable', () => {
    expect(resolveConfig({ env: envOverrides({ ECHOLOG_LOG_LEVEL: '' }) }).sources['logging.level']).toBe('default');
  });

  it('every variable sets a key that takes a string, so the raw value has the right type', () => {
    for (const key of Object.values(ENV_KEYS)) {
      const node = key
        .split('.')
        .reduce<{ properties?: Record<string, unknown> } | undefined>((n, part) => n?.properties?.[part] as never, CONFIG_JSON_SCHEMA);
      expect(node, key).toMatchObject({ type: 'string' });
    }
  });
});

describe('flag errors name the flag and its value', () => {
  const flagError = (key: string, flag: string, value: unknown) => errorOf({ flags: { [key]: value }, flagNames: { [key]: flag } });

  it.each<[string, string, unknown, string]>([
    ['logging.level', '--log-level', 'verbose', 'expected one of debug, info, warning, error'],
    ['logging.rotation', '--log-rotation', 'daily', 'expected one of size, time, off'],
    ['logging.max_bytes', '--log-max-bytes', 100, 'expected a whole number >= 1024'],
    ['recording.segment_time', '--segment-time', 0, 'expected a number > 0 and <= 86400'],
    ['recording.sample_rate', '--sample-rate', 1_000_000, 'expected a whole number from 8000 to 192000'],
    ['transcription.engine', '--engine', 'vosk', 'expected one of auto, pocketsphinx, whisper, daemon, openai, none'],
  ])('%s (%s %s)', (key, flag, value, allowed) => {
    const error = flagError(key, flag, value);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`option ${flag} ${String(value)} is not allowed: ${allowed}`);
  });

  it('reports problems of every layer together', () => {
    const error = errorOf({
      file: { path: FILE, values: { logging: { rotation: 'weekly' } } },
      env: envOverrides({ ECHOLOG_ENGINE: 'vosk' }),
      flags: { 'recording.channels': 9 },
      flagNames: { 'recording.channels': '--channels' },
    });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message.split('\n')).toEqual([
      `config file ${FILE}: logging.rotation: "weekly" is not allowed: expected one of size, time, off`,
      'environment: ECHOLOG_ENGINE=vosk is not allowed: expected one of auto, pocketsphinx, whisper, daemon, openai, none',
      'option --channels 9 is not allowed: expected a whole number from 1 to 8',
    ]);
  });
});

describe('allowedFor', () => {
  it('describes every key of the schema', () => {
    for (const key of Object.keys(flattenToDotted(DEFAULT_CONFIG))) expect(allowedFor(key), key).toMatch(/^(one of|a |true or false)/);
  });
});

import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addConfigFlags,
  loadAllowedValues,
  COMMON_FLAGS,
  configFlagValues,
  RECORDING_FLAGS,
  TRANSCRIPTION_FLAGS,
} from '../src/cli/config-flags.js';
import { flattenToDotted } from '../src/config/dotted-keys.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';

const TABLES = [RECORDING_FLAGS, COMMON_FLAGS, TRANSCRIPTION_FLAGS];

function parse(argv: string[]): { values: Record<string, unknown>; names: Record<string, string> } {
  const command = new Command('test').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const table of TABLES) addConfigFlags(command, table);
  command.parse(argv, { from: 'user' });
  const found = TABLES.map((table) => configFlagValues(command, table));
  return { values: Object.assign({}, ...found.map((f) => f.values)), names: Object.assign({}, ...found.map((f) => f.names)) };
}

function parseError(argv: string[]): string {
  try {
    parse(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CommanderError);
    return (error as CommanderError).message;
  }
  throw new Error('expected a parse error');
}

describe('config flags', () => {
  // As the program does before dispatching to a command (see loadAllowedValues).
  beforeAll(loadAllowedValues);

  it('every flag sets a key of the schema', () => {
    const keys = Object.keys(flattenToDotted(DEFAULT_CONFIG));
    for (const flag of TABLES.flat()) expect(keys, flag.flags).toContain(flag.key);
  });

  it('sets only the keys whose flag was given, with the flag name for errors', () => {
    expect(parse([])).toEqual({ values: {}, names: {} });
    expect(parse(['--log-level', 'debug', '--segment-time', '2.5', '--sample-rate', '48000', '--no-realtime', '--no-transcribe'])).toEqual({
      values: {
        'logging.level': 'debug',
        'recording.segment_time': 2.5,
        'recording.sample_rate': 48000,
        'recording.realtime': false,
        'transcription.engine': 'none',
      },
      names: {
        'logging.level': '--log-level',
        'recording.segment_time': '--segment-time',
        'recording.sample_rate': '--sample-rate',
        'recording.realtime': '--no-realtime',
        'transcription.engine': '--no-transcribe',
      },
    });
  });

  it.each([
    [
      ['--sample-rate', 'abc'],
      `option '--sample-rate <hz>' argument 'abc' is invalid. "abc" is not a number: expected a whole number from 8000 to 192000.`,
    ],
    [
      ['--channels', '1.5'],
      `option '--channels <n>' argument '1.5' is invalid. "1.5" is not a whole number: expected a whole number from 1 to 8.`,
    ],
    [
      ['--segment-time', ''],
      `option '--segment-time <duration>' argument '' is invalid. "" is not a duration: give seconds (90, 2.5) or amounts of s, m, h, d, w (5s, 1m, 1h30m, 7d), up to 3650d: expected a number > 0 and <= 86400.`,
    ],
    [
      ['--segment-time', '5x'],
      `option '--segment-time <duration>' argument '5x' is invalid. "5x" is not a duration: give seconds (90, 2.5) or amounts of s, m, h, d, w (5s, 1m, 1h30m, 7d), up to 3650d: expected a number > 0 and <= 86400.`,
    ],
  ])('a value that does not parse says what the key allows: %j', (argv, message) => {
    expect(parseError(argv)).toBe(`error: ${message}`);
  });
});

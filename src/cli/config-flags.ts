import { InvalidArgumentError, type Command } from 'commander';
import type { DottedValues } from '../config/dotted-keys.js';
import { DURATION_SYNTAX, parseDurationSeconds } from '../config/duration.js';
import type { ResolvedConfig } from '../config/resolve-config.js';

/** Adds `--config` and the config flags of a table to a command; returns how to read the effective config. */
export type WithConfig = (command: Command, table: readonly ConfigFlag[], configHelp?: string) => () => Promise<ResolvedConfig>;

/** A command-line flag that sets a config key. One table, so every command parses flags alike. */
export interface ConfigFlag {
  flags: string;
  description: string;
  /** commander's attribute name for the option. */
  attribute: string;
  key: string;
  parse?: (value: string) => unknown;
  /** Value to store when a boolean --no-x flag is given. */
  negatedValue?: unknown;
}

export function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a number.`);
  return number;
}

/** Seconds, written as seconds (`90`) or with units (`5s`, `1m`, `1h30m`): src/config/duration.ts. */
export function parseSeconds(value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a duration: give ${DURATION_SYNTAX}.`);
  return seconds;
}

/** A duration that must be more than nothing (`--duration`, `--timeout`). */
export function parsePositiveSeconds(value: string): number {
  const seconds = parseSeconds(value);
  if (!(seconds > 0))
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not allowed: give a duration greater than 0: ${DURATION_SYNTAX}.`);
  return seconds;
}

export function parseInteger(value: string): number {
  const number = parseNumber(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number.`);
  return number;
}

export const RECORDING_FLAGS: readonly ConfigFlag[] = [
  {
    flags: '--input <source>',
    description: 'device, audio file or lavfi graph to record (default: the system default device)',
    attribute: 'input',
    key: 'recording.input',
  },
  {
    flags: '--input-format <format>',
    description: 'ffmpeg input format: pulse, alsa, avfoundation, dshow, lavfi, … (empty for a file)',
    attribute: 'inputFormat',
    key: 'recording.input_format',
  },
  {
    flags: '--segment-time <duration>',
    description: 'length of each chunk: seconds, or 30s, 5m, 1h (default 10)',
    attribute: 'segmentTime',
    key: 'recording.segment_time',
    parse: parseSeconds,
  },
  {
    flags: '--sample-rate <hz>',
    description: 'sample rate of the chunks (default 16000)',
    attribute: 'sampleRate',
    key: 'recording.sample_rate',
    parse: parseInteger,
  },
  {
    flags: '--channels <n>',
    description: 'channels of the chunks (default 1)',
    attribute: 'channels',
    key: 'recording.channels',
    parse: parseInteger,
  },
  {
    flags: '--no-realtime',
    description: 'read a file or lavfi input as fast as possible instead of at its own pace',
    attribute: 'realtime',
    key: 'recording.realtime',
    negatedValue: false,
  },
];

export const COMMON_FLAGS: readonly ConfigFlag[] = [
  {
    flags: '--recordings-dir <dir>',
    description: 'where session folders go (default ~/recordings, env ECHOLOG_RECORDINGS_DIR)',
    attribute: 'recordingsDir',
    key: 'recordings_dir',
  },
  {
    flags: '--log-level <level>',
    description: 'session.log verbosity: debug, info, warning, error (default info)',
    attribute: 'logLevel',
    key: 'logging.level',
  },
  {
    flags: '--log-rotation <mode>',
    description: 'session.log rotation: size, time, off (default size)',
    attribute: 'logRotation',
    key: 'logging.rotation',
  },
  {
    flags: '--log-max-bytes <bytes>',
    description: 'rotate session.log at this size (default 5242880)',
    attribute: 'logMaxBytes',
    key: 'logging.max_bytes',
    parse: parseInteger,
  },
  {
    flags: '--log-backup-count <n>',
    description: 'rotated session.log files to keep (default 3)',
    attribute: 'logBackupCount',
    key: 'logging.backup_count',
    parse: parseInteger,
  },
];

export const TRANSCRIPTION_FLAGS: readonly ConfigFlag[] = [
  {
    flags: '--engine <name>',
    description: 'transcription engine: auto, pocketsphinx, whisper, daemon, openai, none (default auto)',
    attribute: 'engine',
    key: 'transcription.engine',
  },
  {
    flags: '--model <name>',
    description: "whisper model name or path (default tiny.en); with --engine openai the server's model (default whisper-1)",
    attribute: 'model',
    key: 'transcription.model',
  },
  {
    flags: '--no-transcribe',
    description: 'record without transcribing (same as --engine none)',
    attribute: 'transcribe',
    key: 'transcription.engine',
    negatedValue: 'none',
  },
];

/** Commands with a flag whose value is parsed (and so may need `allowedFor` for its error). */
const parsingCommands = new WeakSet<Command>();

/** True when `command` or one of its subcommands has such a flag: only then is the schema worth loading. */
export function parsesConfigValues(command: Command): boolean {
  return parsingCommands.has(command) || command.commands.some(parsesConfigValues);
}

export function addConfigFlags(command: Command, table: readonly ConfigFlag[]): Command {
  if (table.some((flag) => flag.parse)) parsingCommands.add(command);
  for (const flag of table) {
    if (flag.parse) command.option(flag.flags, flag.description, withAllowed(flag.parse, flag.key));
    else command.option(flag.flags, flag.description);
  }
  return command;
}

/**
 * What a key allows, in words. It comes from the zod schema, which `--version` and `--help` must
 * not load (start-up time), yet commander parses flag values synchronously: the program loads it
 * before it dispatches to a command that has such flags (`loadAllowedValues` in a `preSubcommand` hook).
 */
let allowedFor: ((dottedKey: string) => string | undefined) | undefined;

export async function loadAllowedValues(): Promise<void> {
  allowedFor ??= (await import('../config/resolve-config.js')).allowedFor;
}

/** A parse error says what the key allows, as a bad value from the config file or env does. */
function withAllowed(parse: (value: string) => unknown, key: string): (value: string) => unknown {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      throw new InvalidArgumentError(`${error.message.replace(/\.$/, '')}: expected ${allowedFor?.(key) ?? 'a valid value'}.`);
    }
  };
}

/** The config keys the user set on this command line (only flags really given, not commander's defaults). */
export function configFlagValues(command: Command, table: readonly ConfigFlag[]): { values: DottedValues; names: Record<string, string> } {
  const values: DottedValues = {};
  const names: Record<string, string> = {};
  for (const flag of table) {
    if (command.getOptionValueSource(flag.attribute) !== 'cli') continue;
    const value = command.getOptionValue(flag.attribute) as unknown;
    values[flag.key] = flag.negatedValue !== undefined ? flag.negatedValue : value;
    names[flag.key] = flag.flags.split(' ')[0]!;
  }
  return { values, names };
}

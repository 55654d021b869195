import { ENV_KEYS } from '../config/env-overrides.js';

/**
 * The text after each command's `--help`: a few examples and the environment variables it reads.
 * Plain data and string formatting only, so `--help` stays fast.
 */
export interface CommandHelp {
  examples: ReadonlyArray<readonly [command: string, what: string]>;
  /** Config keys whose ECHOLOG_* variable the command reads (see env-overrides.ts). */
  configKeys: readonly string[];
  /** Other variables it reads, with what they do. */
  otherEnv?: ReadonlyArray<readonly [variable: string, what: string]>;
}

const CONFIG_FILE_ENV = ['XDG_CONFIG_HOME', 'where the user config file is searched ($XDG_CONFIG_HOME/echolog/echolog.conf)'] as const;
const TERMINAL_ENV = [
  ['NO_COLOR, FORCE_COLOR=0', 'no colour (same as --no-color)'],
  ['TERM=dumb, CI', 'plain progress lines instead of a spinner'],
] as const;

export const HELP: Readonly<Record<'record' | 'status' | 'transcribe' | 'config' | 'models' | 'daemon' | 'sessions' | 'doctor' | 'devices', CommandHelp>> = {
  record: {
    examples: [
      ['echolog record', 'the default microphone until Ctrl-C'],
      ['echolog record --duration 60 --segment-time 5', '60 s of audio in 5 s chunks'],
      ['echolog record --input talk.wav --no-realtime', 'a file, as fast as possible'],
      ['echolog record --input-format lavfi --input sine=frequency=440 --duration 2 --dry-run', 'print the ffmpeg command, record nothing'],
    ],
    configKeys: ['recordings_dir', 'ffmpeg.path', 'logging.level', 'logging.rotation', 'transcription.engine', 'transcription.model'],
    otherEnv: [
      CONFIG_FILE_ENV,
      ['PATH', 'where ffmpeg and pocketsphinx are found'],
      ['ECHOLOG_DEBUG_AUDIO_DUMP, ECHOLOG_DEBUG_AUDIO_DUMP_DIR', 'copy the audio handed to the engine to .pcm files'],
      ...TERMINAL_ENV,
    ],
  },
  status: {
    examples: [
      ['echolog status', 'what is recording now, else the last session'],
      ['echolog status --json', 'the same as JSON (snake_case keys)'],
      ['echolog status --recordings-dir /data/rec', 'another recordings dir'],
    ],
    configKeys: ['recordings_dir', 'ffmpeg.path'],
    otherEnv: [CONFIG_FILE_ENV, ['PATH', 'where ffmpeg is found']],
  },
  transcribe: {
    examples: [
      ['echolog transcribe 20261122T032502Z-9f3a1c', 'transcribe what a session lacks'],
      ['echolog transcribe my-talk --engine whisper --model base.en', 'with whisper.cpp and another model'],
    ],
    configKeys: ['recordings_dir', 'transcription.engine', 'transcription.model'],
    otherEnv: [CONFIG_FILE_ENV, ['XDG_CACHE_HOME', 'the whisper model cache ($XDG_CACHE_HOME/echolog/models)']],
  },
  config: {
    examples: [
      ['echolog config', 'every key, its value and where it comes from'],
      ['echolog config --json', 'the same as JSON'],
      ['ECHOLOG_LOG_LEVEL=debug echolog config --segment-time 5', 'see how env and flags override the file'],
    ],
    configKeys: Object.values(ENV_KEYS),
    otherEnv: [CONFIG_FILE_ENV],
  },
  doctor: {
    examples: [
      ['echolog doctor', 'ffmpeg, the audio server, the default input (opened for 1 s), the engine, the recordings dir, the config'],
      ['echolog doctor --input-format pulse --input null.monitor', 'check another input'],
      ['echolog doctor --json', 'the same as JSON'],
    ],
    configKeys: ['recordings_dir', 'ffmpeg.path', 'transcription.engine', 'transcription.model'],
    otherEnv: [CONFIG_FILE_ENV, ['PATH', 'where ffmpeg, pactl and pocketsphinx are found'], ['XDG_RUNTIME_DIR, PULSE_SERVER', 'where the PulseAudio server is']],
  },
  devices: {
    examples: [
      ['echolog devices', 'the capture devices, the default marked with *'],
      ['echolog record --input-format pulse --input <name>', 'record one of them'],
    ],
    configKeys: ['ffmpeg.path'],
    otherEnv: [CONFIG_FILE_ENV, ['PATH', 'where ffmpeg and pactl are found'], ['XDG_RUNTIME_DIR, PULSE_SERVER', 'where the PulseAudio server is']],
  },
  models: {
    examples: [
      ['echolog models list', 'the models and which are downloaded'],
      ['echolog models pull base.en', 'download one into the cache'],
      ['echolog models path', 'where transcription.model is on disk'],
    ],
    configKeys: ['transcription.model'],
    otherEnv: [
      ['XDG_CACHE_HOME', 'the model cache ($XDG_CACHE_HOME/echolog/models)'],
      ['ECHOLOG_MODELS_BASE_URL', 'download from another server (a mirror)'],
    ],
  },
  daemon: {
    examples: [
      ['echolog daemon start', 'load the engine once and serve requests until 600 s idle'],
      ['echolog daemon start --ipc-root /tmp --timeout 1800', "the seed's exact /tmp paths, 30 min idle timeout"],
      ['echolog daemon status --json', 'is it ready, and its status file'],
      ['echolog record --engine daemon', 'a recording transcribed by the running daemon'],
    ],
    configKeys: ['transcription.engine', 'transcription.model', 'ffmpeg.path'],
    otherEnv: [CONFIG_FILE_ENV, ['XDG_RUNTIME_DIR', 'the default IPC root ($XDG_RUNTIME_DIR/echolog)'], ['PATH', 'where ffmpeg and pocketsphinx are found']],
  },
  sessions: {
    examples: [
      ['echolog sessions list --status error --since 7d', 'failed sessions of the last week'],
      ['echolog sessions show 20261122T032502Z-9f3a1c', 'metadata, stats, chunk continuity, last warnings'],
      ['echolog sessions export 20261122T032502Z-9f3a1c --audio talk.flac --transcript talk.srt', 'one audio file and subtitles'],
      ['echolog sessions delete --older-than 30d --yes', 'clean up old sessions (never one that is recording)'],
    ],
    configKeys: ['recordings_dir', 'ffmpeg.path'],
    otherEnv: [CONFIG_FILE_ENV, ['PATH', 'where ffmpeg is found (export)']],
  },
};

/** Exit codes, as README "Exit codes" lists them. */
export const EXIT_CODES: ReadonlyArray<readonly [code: number, meaning: string]> = [
  [0, 'success (duration reached, input ended)'],
  [1, 'runtime failure (ffmpeg failed or not found, the device was lost, the disk filled or too little disk, another session is recording, a daemon failed, a doctor check failed, internal error)'],
  [2, 'usage or config error: nothing was created'],
  [129, 'stopped by SIGHUP'],
  [130, 'stopped by Ctrl-C (SIGINT)'],
  [143, 'stopped by SIGTERM'],
];

export function formatCommandHelp(help: CommandHelp): string {
  const variable = Object.fromEntries(Object.entries(ENV_KEYS).map(([name, key]) => [key, name]));
  const env: Array<readonly [string, string]> = [
    ...help.configKeys.filter((key) => variable[key]).map((key) => [variable[key]!, `sets ${key}`] as const),
    ...(help.otherEnv ?? []),
  ];
  return ['', 'Examples:', ...table(help.examples), '', 'Environment:', ...table(env), ''].join('\n');
}

export function formatProgramHelp(): string {
  return ['', 'Exit codes:', ...table(EXIT_CODES.map(([code, meaning]) => [String(code), meaning] as const)), '', 'Run `echolog <command> --help` for examples and the environment variables each command reads.', ''].join('\n');
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

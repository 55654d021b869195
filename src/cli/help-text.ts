import { ENV_KEYS } from '../config/env-overrides.js';

/**
 * The sections after each command's `--help`: a few examples and the environment variables it reads
 * (help-layout.ts lays them out). Plain data only, so `--help` stays fast.
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

const SESSIONS_CONFIG_KEYS = ['recordings_dir'];
const DAEMON_ENV = [CONFIG_FILE_ENV, ['XDG_RUNTIME_DIR', 'the default IPC root ($XDG_RUNTIME_DIR/echolog)']] as const;
const MODELS_ENV = [['XDG_CACHE_HOME', 'the model cache ($XDG_CACHE_HOME/echolog/models)']] as const;

/** Each command's help sections, by its path (`record`, `sessions list`). Every command has one. */
export const HELP: Readonly<Record<string, CommandHelp>> = {
  record: {
    examples: [
      ['echolog record', 'the default microphone until Ctrl-C'],
      ['echolog record --duration 1h30m --segment-time 5m', '90 minutes of audio in 5-minute chunks'],
      ['echolog record --input talk.wav --no-realtime', 'a file, as fast as possible'],
      [
        'echolog record --input-format lavfi --input sine=frequency=440 --duration 2s --dry-run',
        'print the ffmpeg command, record nothing',
      ],
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
      ['echolog transcribe my-talk --json', 'the result as JSON'],
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
    otherEnv: [
      CONFIG_FILE_ENV,
      ['PATH', 'where ffmpeg, pactl and pocketsphinx are found'],
      ['XDG_RUNTIME_DIR, PULSE_SERVER', 'where the PulseAudio server is'],
    ],
  },
  devices: {
    examples: [
      ['echolog devices', 'the capture devices, the default marked with *'],
      ['echolog devices --json', 'the same as JSON'],
      ['echolog record --input-format pulse --input <name>', 'record one of them'],
    ],
    configKeys: ['ffmpeg.path'],
    otherEnv: [
      CONFIG_FILE_ENV,
      ['PATH', 'where ffmpeg and pactl are found'],
      ['XDG_RUNTIME_DIR, PULSE_SERVER', 'where the PulseAudio server is'],
    ],
  },
  models: {
    examples: [
      ['echolog models list', 'the models and which are downloaded'],
      ['echolog models pull base.en', 'download one into the cache'],
      ['echolog models path', 'where transcription.model is on disk'],
    ],
    configKeys: ['transcription.model'],
    otherEnv: [...MODELS_ENV, ['ECHOLOG_MODELS_BASE_URL', 'download from another server (a mirror)']],
  },
  'models list': {
    examples: [
      ['echolog models list', 'name, size, language; * marks the downloaded ones'],
      ['echolog models list --json', "the same as JSON, with each file's path"],
    ],
    configKeys: [],
    otherEnv: MODELS_ENV,
  },
  'models pull': {
    examples: [
      ['echolog models pull tiny.en', 'download the default model (75 MiB)'],
      ['ECHOLOG_MODELS_BASE_URL=http://mirror/models echolog models pull base.en', 'from a mirror'],
    ],
    configKeys: [],
    otherEnv: [...MODELS_ENV, ['ECHOLOG_MODELS_BASE_URL', 'download from another server (a mirror)']],
  },
  'models path': {
    examples: [
      ['echolog models path', 'where transcription.model is (exit 1 if not downloaded)'],
      ['echolog models path base.en', 'where base.en is, or would be'],
    ],
    configKeys: ['transcription.model'],
    otherEnv: [CONFIG_FILE_ENV, ...MODELS_ENV],
  },
  daemon: {
    examples: [
      ['echolog daemon start', 'load the engine once and serve requests until 600 s idle'],
      ['echolog daemon start --ipc-root /tmp --timeout 30m', 'the /tmp paths other file-IPC clients expect, 30 min idle'],
      ['echolog daemon status --json', 'is it ready, and its status file'],
      ['echolog record --engine daemon', 'a recording transcribed by the running daemon'],
    ],
    configKeys: ['transcription.engine', 'transcription.model', 'ffmpeg.path'],
    otherEnv: [...DAEMON_ENV, ['PATH', 'where ffmpeg and pocketsphinx are found']],
  },
  'daemon start': {
    examples: [
      ['echolog daemon start', 'detached; returns once the model is loaded'],
      ['echolog daemon start --engine whisper --model base.en --timeout 1h', 'whisper, stopping after an idle hour'],
      ['echolog daemon start --foreground', 'in this terminal; Ctrl-C stops it (exit 130)'],
    ],
    configKeys: ['transcription.engine', 'transcription.model', 'ffmpeg.path'],
    otherEnv: [
      ...DAEMON_ENV,
      ['PATH', 'where ffmpeg and pocketsphinx are found'],
      ['OPENAI_BASE_URL, OPENAI_API_KEY', 'the server and key of --engine openai'],
    ],
  },
  'daemon stop': {
    examples: [
      ['echolog daemon stop', 'stop the daemon of the default IPC root'],
      ['echolog daemon stop --ipc-root /tmp', 'the one serving /tmp'],
    ],
    configKeys: [],
    otherEnv: DAEMON_ENV,
  },
  'daemon status': {
    examples: [
      ['echolog daemon status', 'ready or not, and why (exit 0 ready, 1 not)'],
      ['echolog daemon status --json', 'the same as JSON'],
    ],
    configKeys: [],
    otherEnv: DAEMON_ENV,
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
  'sessions list': {
    examples: [
      ['echolog sessions list', 'the newest 50: id, status, started, duration, chunks, words, size'],
      ['echolog sessions list --status error --since 7d', 'failed sessions of the last week'],
      ['echolog sessions list --since 2026-11-01 --until 2026-12-01', 'started in November (UTC)'],
      ['echolog sessions list --limit 20 --offset 20 --json', 'the second page, as JSON'],
    ],
    configKeys: SESSIONS_CONFIG_KEYS,
    otherEnv: [CONFIG_FILE_ENV],
  },
  'sessions show': {
    examples: [
      ['echolog sessions show 20261122T032502Z-9f3a1c', 'metadata, stats, paths, continuity, last warnings, resume chain'],
      ['echolog sessions show my-talk --json', "the same as JSON (session.json's keys)"],
    ],
    configKeys: SESSIONS_CONFIG_KEYS,
    otherEnv: [CONFIG_FILE_ENV],
  },
  'sessions export': {
    examples: [
      ['echolog sessions export my-talk --audio talk.flac', 'the chunks joined into one lossless file'],
      ['echolog sessions export my-talk --transcript talk.srt', 'subtitles (.srt, .vtt, .txt or .json)'],
      ['echolog sessions export my-talk --follow-chain --audio all.wav --json', 'the whole resume chain; what was written as JSON'],
    ],
    configKeys: ['recordings_dir', 'ffmpeg.path'],
    otherEnv: [CONFIG_FILE_ENV, ['PATH', 'where ffmpeg is found']],
  },
  completion: {
    examples: [
      ['source <(echolog completion bash)', 'complete echolog commands and options in this bash'],
      ['echolog completion bash > ~/.local/share/bash-completion/completions/echolog', 'for every new bash'],
      ['echolog completion fish > ~/.config/fish/completions/echolog.fish', 'for fish'],
    ],
    configKeys: [],
    otherEnv: [['(none)', 'it reads no environment variable']],
  },
  man: {
    examples: [
      ['echolog man > echolog.1 && man -l echolog.1', 'read it'],
      ['echolog man > ~/.local/share/man/man1/echolog.1', 'install it for `man echolog`'],
    ],
    configKeys: [],
    otherEnv: [['(none)', 'it reads no environment variable']],
  },
  'sessions delete': {
    examples: [
      ['echolog sessions delete my-talk', 'asks first on a terminal'],
      ['echolog sessions delete --older-than 30d --yes', 'every session older than 30 days, without asking'],
    ],
    configKeys: SESSIONS_CONFIG_KEYS,
    otherEnv: [CONFIG_FILE_ENV],
  },
};

/** Exit codes, as README "Exit codes" lists them. */
export const EXIT_CODES: ReadonlyArray<readonly [code: number, meaning: string]> = [
  [0, 'success (duration reached, input ended)'],
  [
    1,
    'runtime failure (ffmpeg failed or not found, the device was lost, the disk filled or too little disk, ' +
      'another session is recording, a daemon failed, a doctor check failed, internal error)',
  ],
  [2, 'usage or config error, an unknown session id or one that is no session folder: nothing was created or deleted'],
  [129, 'stopped by SIGHUP'],
  [130, 'stopped by Ctrl-C (SIGINT)'],
  [143, 'stopped by SIGTERM'],
];

/** The Examples and Environment sections of a command's help, as item lists in commander's own layout. */
export interface HelpSection {
  heading: string;
  items: ReadonlyArray<readonly [string, string]>;
  /** Items are [command, what it does]. */
  examples?: boolean;
}

export function helpSections(help: CommandHelp): HelpSection[] {
  const variable = Object.fromEntries(Object.entries(ENV_KEYS).map(([name, key]) => [key, name]));
  const env: Array<readonly [string, string]> = [
    ...help.configKeys.filter((key) => variable[key]).map((key) => [variable[key]!, `sets ${key}`] as const),
    ...(help.otherEnv ?? []),
  ];
  return [
    { heading: 'Examples:', items: help.examples, examples: true },
    { heading: 'Environment:', items: env },
  ];
}

export const PROGRAM_SECTIONS: HelpSection[] = [
  { heading: 'Exit codes:', items: EXIT_CODES.map(([code, meaning]) => [String(code), meaning] as const) },
];
export const PROGRAM_FOOTER = 'Run `echolog <command> --help` for examples and the environment variables each command reads.';

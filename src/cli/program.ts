import { Command } from 'commander';
import type { PeekedConfig } from '../config/peek-config.js';
import { VERSION } from '../version.js';
import {
  addConfigFlags,
  COMMON_FLAGS,
  configFlagValues,
  loadAllowedValues,
  parsePositiveSeconds,
  parsesConfigValues,
  RECORDING_FLAGS,
  TRANSCRIPTION_FLAGS,
  type ConfigFlag,
  type WithConfig,
} from './config-flags.js';
import type { Surroundings } from './surroundings.js';

const ALL_FLAGS: readonly ConfigFlag[] = [...RECORDING_FLAGS, ...COMMON_FLAGS, ...TRANSCRIPTION_FLAGS];
const RECORDINGS_DIR_FLAG = COMMON_FLAGS.filter((flag) => flag.key === 'recordings_dir');
const ENGINE_FLAG = TRANSCRIPTION_FLAGS.filter((flag) => flag.attribute === 'engine');
const MODEL_FLAG = TRANSCRIPTION_FLAGS.filter((flag) => flag.attribute === 'model');

/** What each command's registration needs: the program, the outside world, and the config helpers. */
export interface ProgramContext {
  program: Command;
  surroundings: Surroundings;
  result: { exitCode: number };
  withConfig: WithConfig;
  /** The peeked keys of a command that already has the config options (from withConfig). */
  peekedConfig: (command: Command) => () => Promise<PeekedConfig>;
  /** `--config` and `--recordings-dir` for a command that reads only the peeked keys. */
  withPeekedConfig: (command: Command) => () => Promise<PeekedConfig>;
}

/** The top-level commands, each registered by its own function (its subcommands with it); a module of its own is loaded first. */
const COMMANDS: Readonly<Record<string, (context: ProgramContext) => void | Promise<void>>> = {
  record: registerRecord,
  status: registerStatus,
  transcribe: registerTranscribe,
  config: registerConfig,
  doctor: registerDoctor,
  devices: registerDevices,
  daemon: async (c) => (await import('./daemon-program.js')).registerDaemonCommands(c.program, c.withConfig, c.surroundings, c.result),
  models: registerModels,
  sessions: registerSessionsCommands,
  completion: registerCompletion,
  man: registerMan,
};

/** Commands made from the whole program: it is registered in full for them. */
const WHOLE_PROGRAM = new Set(['completion', 'man']);

/**
 * The command a command line runs, when it is one of echolog's: the first word that is not an
 * option (the program's only option before a command, --no-color, takes no value). `--help`
 * before it asks for the program's help, which lists every command.
 */
export function commandOf(args: readonly string[]): string | undefined {
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  if (at < 0 || args.slice(0, at).some((arg) => arg === '--help' || arg === '-h')) return undefined;
  const word = args[at]!;
  return Object.hasOwn(COMMANDS, word) && !WHOLE_PROGRAM.has(word) ? word : undefined;
}

/** Commands whose bare name prints their help (they only group subcommands). */
const GROUPS = new Set(['daemon', 'models', 'sessions']);

/**
 * Whether this command line may print help: `--help`/`-h`, no command or one echolog does not know
 * (`help`), or a group without its subcommand. Only then is the help layout loaded (start-up time).
 */
export function mayPrintHelp(args: readonly string[]): boolean {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const only = commandOf(args);
  return args.includes('--help') || args.includes('-h') || only === undefined || (GROUPS.has(only) && words.length < 2);
}

/**
 * The commander program. Only the command being run is registered (`only`; help, completion and an
 * unknown command get them all), and the help layout only when help may be printed (`withHelp`). Each
 * command's module, and the config loader (zod, js-yaml), is loaded only when a command runs: `--version`
 * and `--help` load neither.
 * Actions store their exit code in `result`; errors propagate to `main`.
 */
export async function buildProgram(
  surroundings: Surroundings,
  result: { exitCode: number },
  only?: string,
  withHelp = true,
): Promise<Command> {
  const program = new Command('echolog')
    .description('Record audio in chunks with ffmpeg, log every session to session.log, transcribe while recording.')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--no-color', 'no colour in any output (NO_COLOR=1 and FORCE_COLOR=0 do the same)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => surroundings.stdout.write(s),
      writeErr: (s) => surroundings.stderr.write(s),
      // One prefix for every error, commander's own usage errors included.
      outputError: (s, write) => write(s.replace(/^error: /, 'echolog: ')),
      getOutHelpWidth: () => helpWidth(surroundings.stdout, surroundings.env),
      getErrHelpWidth: () => helpWidth(surroundings.stderr, surroundings.env),
    })
    .showHelpAfterError('(run with --help for usage)')
    // Flag values are parsed when commander dispatches to a command: their error texts need the schema.
    .hook('preSubcommand', (_program, command) => (parsesConfigValues(command) ? loadAllowedValues() : undefined));

  /**
   * Adds `--config` and the config flags of `table` to a command; returns how to read the effective
   * config once the command line is parsed, from exactly the flags that were added.
   */
  const addConfigOptions = (command: Command, table: readonly ConfigFlag[], configHelp = 'use this config file'): void => {
    command.option('--config <file>', configHelp);
    addConfigFlags(command, table);
  };
  const withConfig: WithConfig = (command, table, configHelp) => {
    addConfigOptions(command, table, configHelp);
    return async () => {
      const { values, names } = configFlagValues(command, table);
      const { loadEffectiveConfig } = await import('../config/effective-config.js');
      return loadEffectiveConfig({
        configPath: command.opts<{ config?: string }>().config,
        flags: values,
        flagNames: names,
        cwd: surroundings.cwd,
        env: surroundings.env,
        home: surroundings.home,
        warn: (message) => surroundings.stderr.write(`echolog: warning: ${message}\n`),
      });
    };
  };

  /**
   * The few keys `peekConfig` reads (recordings_dir, ffmpeg.path, the daemon's root), from a command
   * that `withConfig` gave `--config` and `--recordings-dir`: no zod schema to load, so the quick
   * commands (status, sessions list/show/delete) start fast (bench/startup.mjs).
   */
  const peekedConfig = (command: Command) => async (): Promise<PeekedConfig> => {
    const { values } = configFlagValues(command, RECORDINGS_DIR_FLAG);
    const { peekConfig } = await import('../config/peek-config.js');
    return peekConfig({
      configPath: command.opts<{ config?: string }>().config,
      flags: values,
      cwd: surroundings.cwd,
      env: surroundings.env,
      home: surroundings.home,
      warn: (message) => surroundings.stderr.write(`echolog: warning: ${message}\n`),
    });
  };
  const withPeekedConfig = (command: Command): (() => Promise<PeekedConfig>) => {
    addConfigOptions(command, RECORDINGS_DIR_FLAG);
    return peekedConfig(command);
  };

  const context: ProgramContext = { program, surroundings, result, withConfig, peekedConfig, withPeekedConfig };
  if (withHelp) {
    // Every command's help ends with its Examples and Environment (help-layout.ts); inherited by subcommands.
    const { formatHelpWithSections } = await import('./help-layout.js');
    program.configureHelp({ formatHelp: formatHelpWithSections });
  }
  // In order, one at a time: the program's help lists them as registered.
  for (const [name, register] of Object.entries(COMMANDS)) if (only === undefined || name === only) await register(context);
  return program;
}

/** Help is wrapped to the terminal's width; off a terminal to $COLUMNS, else 80. */
function helpWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv): number {
  if (stream.isTTY && stream.columns) return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : 80;
}

function registerRecord({ program, surroundings, result, withConfig }: ProgramContext): void {
  const record = program
    .command('record')
    .description('record from a device, file or lavfi graph into ~/recordings/<session_id>/')
    .option('--duration <duration>', 'stop by itself after this much audio: seconds, or 90s, 5m, 1h30m', parsePositiveSeconds)
    .option('--session-id <id>', 'name the session instead of a generated id')
    .option('--resume <id>', 'a new session linked to session <id> (resumed_from in session.json and session_start)')
    .option('--dry-run', 'print the effective settings and the exact ffmpeg command, record nothing')
    .option('-q, --quiet', 'print only the essentials')
    .option(
      '--json',
      'at the end, print a summary as JSON on stdout (session_id, chunks, audio_seconds, stop_reason, exit_code); progress goes to stderr',
    );
  const recordConfig = withConfig(record, ALL_FLAGS, 'use this config file instead of searching for echolog.conf');
  record.action(async (_options, command: Command) => {
    const opts = command.optsWithGlobals<{
      duration?: number;
      sessionId?: string;
      resume?: string;
      dryRun?: boolean;
      quiet?: boolean;
      json?: boolean;
      color: boolean;
    }>();
    const resolved = await recordConfig();
    const { recordCommand } = await import('./record-command.js');
    result.exitCode = await recordCommand(
      {
        resolved,
        durationSeconds: opts.duration,
        sessionId: opts.sessionId,
        resume: opts.resume,
        dryRun: Boolean(opts.dryRun),
        quiet: Boolean(opts.quiet),
        json: Boolean(opts.json),
        noColor: opts.color === false,
      },
      surroundings,
    );
  });
}

function registerStatus({ program, surroundings, result, withPeekedConfig }: ProgramContext): void {
  const status = program
    .command('status')
    .description('what is recording now and where its log is; else the last session')
    .option('--json', 'print the status as JSON');
  // Adds --config and --recordings-dir; runStatus reads them (src/index.ts runs it for plain status lines, before commander loads).
  withPeekedConfig(status);
  status.action(async (options: { json?: boolean; config?: string; recordingsDir?: string }) => {
    const { runStatus } = await import('./status-command.js');
    result.exitCode = await runStatus(
      { json: Boolean(options.json), configPath: options.config, recordingsDir: options.recordingsDir },
      surroundings,
    );
  });
}

function registerTranscribe({ program, surroundings, result, withConfig }: ProgramContext): void {
  const transcribe = program
    .command('transcribe <session>')
    .description("transcribe the chunks a session's transcript lacks (engine failure, --no-transcribe), then rewrite transcript.*")
    .option('--json', 'print the result as JSON');
  const transcribeConfig = withConfig(transcribe, [...RECORDINGS_DIR_FLAG, ...ENGINE_FLAG, ...MODEL_FLAG]);
  transcribe.action(async (session: string, _options, command: Command) => {
    const resolved = await transcribeConfig();
    const { transcribeCommand } = await import('./transcribe-command.js');
    result.exitCode = await transcribeCommand({ resolved, session, json: Boolean(command.opts<{ json?: boolean }>().json) }, surroundings);
  });
}

function registerConfig({ program, surroundings, result, withConfig }: ProgramContext): void {
  const config = program
    .command('config')
    .description('print the effective config and where each value comes from (default, file, env, flag)')
    .option('--json', 'print as JSON');
  const configConfig = withConfig(config, ALL_FLAGS);
  config.action(async (_options, command: Command) => {
    const resolved = await configConfig();
    const { configCommand } = await import('./config-command.js');
    result.exitCode = configCommand({ resolved, json: Boolean(command.opts<{ json?: boolean }>().json) }, surroundings);
  });
}

function registerDoctor({ program, surroundings, result, withConfig }: ProgramContext): void {
  const doctor = program
    .command('doctor')
    .description('check what recording needs, one line each (ok/warn/fail, with the fix); exit 1 if a check fails')
    .option('--json', 'print the checks as JSON');
  const doctorConfig = withConfig(doctor, [...RECORDING_FLAGS, ...RECORDINGS_DIR_FLAG, ...TRANSCRIPTION_FLAGS]);
  doctor.action(async (_options, command: Command) => {
    const resolved = await doctorConfig();
    const { doctorCommand } = await import('./doctor-command.js');
    result.exitCode = await doctorCommand({ resolved, json: Boolean(command.opts<{ json?: boolean }>().json) }, surroundings);
  });
}

function registerDevices({ program, surroundings, result, withConfig }: ProgramContext): void {
  const devices = program
    .command('devices')
    .description('list the capture devices by name (PulseAudio, ALSA, avfoundation, dshow), the default marked')
    .option('--json', 'print the devices as JSON');
  const devicesConfig = withConfig(devices, []);
  devices.action(async (_options, command: Command) => {
    const resolved = await devicesConfig();
    const { devicesCommand } = await import('./devices-command.js');
    result.exitCode = await devicesCommand({ resolved, json: Boolean(command.opts<{ json?: boolean }>().json) }, surroundings);
  });
}

function registerModels({ program, surroundings, result, withConfig }: ProgramContext): void {
  const models = program
    .command('models')
    .description('whisper models: list, download into the cache (~/.cache/echolog/models), show a path');
  models
    .command('list')
    .description('the models echolog can download, and which are downloaded')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const { modelsListCommand } = await import('./models-command.js');
      result.exitCode = await modelsListCommand({ json: Boolean(options.json) }, surroundings);
    });
  models
    .command('pull <name>')
    .description('download a model (resumable, verified by sha256); env ECHOLOG_MODELS_BASE_URL sets another server')
    .action(async (name: string) => {
      const { modelsPullCommand } = await import('./models-command.js');
      result.exitCode = await modelsPullCommand({ name }, surroundings);
    });
  const modelsPath = models
    .command('path [name]')
    .description('print where a model is on disk (default: transcription.model); exit 1 if it is not there');
  const modelsPathConfig = withConfig(modelsPath, MODEL_FLAG);
  modelsPath.action(async (name: string | undefined) => {
    const spec = name ?? (await modelsPathConfig()).config.transcription.model;
    const { modelsPathCommand } = await import('./models-command.js');
    result.exitCode = await modelsPathCommand({ spec }, surroundings);
  });
}

function registerCompletion({ program, surroundings }: ProgramContext): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script: bash, zsh or fish')
    .action(async (shell: string) => {
      const [{ completionScript }, { commandTree }] = await Promise.all([import('./completion.js'), import('./command-tree.js')]);
      surroundings.stdout.write(completionScript(shell, commandTree(program)));
    });
}

function registerMan({ program, surroundings }: ProgramContext): void {
  program
    .command('man')
    .description('print the man page (roff), made from the help of every command')
    .action(async () => {
      const [{ manPage }, { commandTree }] = await Promise.all([import('./man-page.js'), import('./command-tree.js')]);
      surroundings.stdout.write(manPage(commandTree(program), VERSION, surroundings.now().toISOString().slice(0, 10)));
    });
}

/** `echolog sessions list|show|delete|export`; the module (and its parsers) loads only when one runs. */
function registerSessionsCommands({ program, surroundings, result, withConfig, peekedConfig, withPeekedConfig }: ProgramContext): void {
  const sessions = program.command('sessions').description('find, inspect, export, resume and clean up recorded sessions');
  const list = sessions
    .command('list')
    .description('sessions, newest first by start time')
    .option('--status <status>', 'only sessions with this status: active (= recording), completed, error, interrupted')
    .option('--since <time>', 'only sessions started at or after: a UTC date/date-time, or how long ago (90s, 2h, 7d, 1h30m)')
    .option('--until <time>', 'only sessions started before: a UTC date/date-time, or how long ago')
    .option('--limit <n>', 'at most this many', '50')
    .option('--offset <n>', 'skip this many first', '0')
    .option('--json', 'print JSON: {"sessions": [{"id", "status", "start_time", …}], "pagination": {…}}');
  // The whole config only to recover a session whose echolog died, as for status.
  const listFullConfig = withConfig(list, RECORDINGS_DIR_FLAG);
  const listConfig = peekedConfig(list);
  list.action(async (_options, command: Command) => {
    const o = command.opts<{ status?: string; since?: string; until?: string; limit: string; offset: string; json?: boolean }>();
    const recordingsDir = (await listConfig()).recordings_dir.value;
    const { parseListQuery } = await import('./sessions-flags.js');
    const { sessionsListCommand } = await import('./sessions-command.js');
    const loadConfig = async () => (await listFullConfig()).config;
    result.exitCode = await sessionsListCommand(
      { recordingsDir, json: Boolean(o.json), query: parseListQuery(o, surroundings.now()), loadConfig },
      surroundings,
    );
  });
  const show = sessions
    .command('show <id>')
    .description('all metadata and stats, paths, chunk continuity, last warnings/errors, resume chain')
    .option('--json', 'print JSON');
  // The whole config only to recover the session if its echolog died, as for list.
  const showFullConfig = withConfig(show, RECORDINGS_DIR_FLAG);
  const showConfig = peekedConfig(show);
  show.action(async (id: string, _options, command: Command) => {
    const recordingsDir = (await showConfig()).recordings_dir.value;
    const { sessionsShowCommand } = await import('./sessions-command.js');
    const loadConfig = async () => (await showFullConfig()).config;
    result.exitCode = await sessionsShowCommand(
      { recordingsDir, id, json: Boolean(command.opts<{ json?: boolean }>().json), loadConfig },
      surroundings,
    );
  });
  const remove = sessions
    .command('delete [ids...]')
    .description('delete sessions that are not recording (asks first on a terminal)')
    .option('--older-than <duration>', 'delete the sessions started longer ago than this (30d, 12h, 1w, 1h30m)')
    .option('-y, --yes', 'do not ask')
    .option('--json', 'print JSON');
  const removeConfig = withPeekedConfig(remove);
  remove.action(async (ids: string[], _options, command: Command) => {
    const o = command.opts<{ olderThan?: string; yes?: boolean; json?: boolean }>();
    const recordingsDir = (await removeConfig()).recordings_dir.value;
    const { parseDuration } = await import('./time-flags.js');
    const { terminalConfirmer } = await import('./confirm.js');
    const { sessionsDeleteCommand } = await import('./sessions-command.js');
    result.exitCode = await sessionsDeleteCommand(
      {
        recordingsDir,
        ids,
        olderThanMs: o.olderThan === undefined ? undefined : parseDuration(o.olderThan, '--older-than'),
        yes: Boolean(o.yes),
        json: Boolean(o.json),
        confirmer: terminalConfirmer(),
      },
      surroundings,
    );
  });
  const exportCommand = sessions
    .command('export <id>')
    .description('join the chunks into one audio file and/or write the transcript in another format')
    .option('--audio <file>', 'out.wav, out.flac or out.mp3 (sample-exact for wav and flac)')
    .option('--transcript <file>', 'out.srt, out.vtt, out.txt or out.json')
    .option('--follow-chain', 'merge the whole resume chain the session is part of, oldest first')
    .option('--force', 'replace output files that exist')
    .option('--json', 'print what was written as JSON');
  const exportConfig = withConfig(exportCommand, RECORDINGS_DIR_FLAG);
  exportCommand.action(async (id: string, _options, command: Command) => {
    const o = command.opts<{ audio?: string; transcript?: string; followChain?: boolean; force?: boolean; json?: boolean }>();
    const resolved = await exportConfig();
    const { sessionsExportCommand } = await import('./sessions-export-command.js');
    result.exitCode = await sessionsExportCommand(
      {
        resolved,
        recordingsDir: resolved.config.recordings_dir,
        id,
        audio: o.audio,
        transcript: o.transcript,
        followChain: Boolean(o.followChain),
        force: Boolean(o.force),
        json: Boolean(o.json),
      },
      surroundings,
    );
  });
}

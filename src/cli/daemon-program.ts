import type { Command } from 'commander';
import { parsePositiveSeconds } from './config-flags.js';
import type { WithConfig } from './config-flags.js';
import type { Surroundings } from './surroundings.js';

/**
 * `echolog daemon start|stop|status`, registered on the program; the command module and the
 * daemon are loaded only when one of them runs.
 */
export function registerDaemonCommands(
  program: Command,
  withConfig: WithConfig,
  surroundings: Surroundings,
  result: { exitCode: number },
): void {
  const daemon = program
    .command('daemon')
    .description(
      'the transcription session daemon: keeps a model loaded and answers requests of the file-IPC protocol; record --engine daemon uses it',
    );
  const ipcRootHelp =
    'IPC root (default $XDG_RUNTIME_DIR/echolog, else ~/.cache/echolog/run; /tmp for the paths other file-IPC clients expect)';
  const daemonStart = daemon
    .command('start')
    .description('start the daemon; returns once it is ready (model loaded), or fails with the reason')
    .option('--timeout <duration>', 'stop after this long without a request: seconds, or 90s, 10m, 1h (default 600)', parsePositiveSeconds)
    .option(
      '--engine <name>',
      'engine to keep loaded: pocketsphinx, whisper or openai (a server of the OpenAI transcription API, in front of one GPU server) ' +
        '(default: the configured one, else whisper if its model is present, else pocketsphinx)',
    )
    .option(
      '--model <name>',
      "whisper model name or path (default transcription.model); for openai the server's model (default transcription.openai.model)",
    )
    .option('--foreground', 'run in this process instead of detached (Ctrl-C stops it)')
    .option('--ipc-root <dir>', ipcRootHelp);
  const daemonStartConfig = withConfig(daemonStart, []);
  daemonStart.action(async (_options, command: Command) => {
    const opts = command.opts<{ timeout?: number; engine?: string; model?: string; foreground?: boolean; ipcRoot?: string }>();
    const resolved = await daemonStartConfig();
    const { daemonStartCommand, parseSessionTimeout } = await import('./daemon-command.js');
    const { parseHostedEngine } = await import('../daemon/hosted-engine.js');
    result.exitCode = await daemonStartCommand(
      {
        resolved,
        ipcRoot: opts.ipcRoot,
        timeoutSeconds: parseSessionTimeout(opts.timeout),
        engine: parseHostedEngine(opts.engine),
        model: opts.model,
        foreground: Boolean(opts.foreground),
      },
      surroundings,
    );
  });
  const daemonStop = daemon.command('stop').description('stop the daemon (it removes its marker)').option('--ipc-root <dir>', ipcRootHelp);
  const daemonStopConfig = withConfig(daemonStop, []);
  daemonStop.action(async (_options, command: Command) => {
    const resolved = await daemonStopConfig();
    const { daemonStopCommand } = await import('./daemon-command.js');
    result.exitCode = await daemonStopCommand({ resolved, ipcRoot: command.opts<{ ipcRoot?: string }>().ipcRoot }, surroundings);
  });
  const daemonStatus = daemon
    .command('status')
    .description('whether a daemon is ready, and its status file (exit 0 ready, 1 not)')
    .option('--json', 'print as JSON')
    .option('--ipc-root <dir>', ipcRootHelp);
  const daemonStatusConfig = withConfig(daemonStatus, []);
  daemonStatus.action(async (_options, command: Command) => {
    const resolved = await daemonStatusConfig();
    const opts = command.opts<{ ipcRoot?: string; json?: boolean }>();
    const { daemonStatusCommand } = await import('./daemon-command.js');
    result.exitCode = await daemonStatusCommand({ resolved, ipcRoot: opts.ipcRoot, json: Boolean(opts.json) }, surroundings);
  });
}

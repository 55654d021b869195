import { EchologError, ExitCode } from './errors.js';
import { guardOutputStreams } from './cli/output-guard.js';
import { parseStatusArgs } from './cli/status-args.js';
import { processSurroundings, type Surroundings } from './cli/surroundings.js';
import { VERSION } from './version.js';

/**
 * The single error boundary: runs the CLI and decides the exit code. A known error prints its
 * message; anything else prints its stack and says it is a bug.
 */
export async function run(argv: readonly string[], surroundings: Surroundings): Promise<number> {
  const args = argv.slice(2);
  // The most frequent quick question is answered before commander and the program load (start-up time).
  if (args.length === 1 && (args[0] === '-v' || args[0] === '--version')) {
    surroundings.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  try {
    // So is `status`, when its command line is one commander would accept as is (status-args.ts).
    const status = parseStatusArgs(args);
    if (status) {
      const { runStatus } = await import('./cli/status-command.js');
      return await runStatus(status, surroundings);
    }
    return await runProgram(argv, surroundings);
  } catch (error) {
    if (error instanceof EchologError) {
      surroundings.stderr.write(`echolog: ${error.message}\n`);
      return error.exitCode;
    }
    surroundings.stderr.write(
      `echolog: unexpected error (this is a bug, please report it):\n${(error as Error)?.stack ?? String(error)}\n`,
    );
    return ExitCode.failure;
  }
}

/** Any other command line, through commander: the program registers the command being run (program.ts). */
async function runProgram(argv: readonly string[], surroundings: Surroundings): Promise<number> {
  const args = argv.slice(2);
  const [{ CommanderError }, { buildProgram, commandOf, mayPrintHelp }] = await Promise.all([
    import('commander'),
    import('./cli/program.js'),
  ]);
  const result = { exitCode: ExitCode.ok as number };
  try {
    const program = await buildProgram(surroundings, result, commandOf(args), mayPrintHelp(args));
    await program.parseAsync([...argv]);
    return result.exitCode;
  } catch (error) {
    // Help and --version "fail" with exit code 0; every other commander error is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw error;
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  // First of all: a closed stdout/stderr must never reach the uncaught-exception path.
  const outputs = guardOutputStreams({ stdout: process.stdout, stderr: process.stderr });
  process.exitCode = await run(argv, processSurroundings(outputs));
  // Everything is written and closed by now, so Node should exit as its loop empties. Should a
  // stray child or timer hold it, the command still ends, and says so (a bug to report): a stop
  // asked for by a signal must end echolog within seconds, whatever was left open.
  setTimeout(() => {
    process.stderr.write('echolog: work was still open 3 s after the command ended (this is a bug, please report it); exiting\n');
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

/** How long the loop may take to empty after the command ended. */
const EXIT_GRACE_MS = 3000;

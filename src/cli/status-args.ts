/**
 * `status`'s command line, read without commander (issue 19 §5, start-up): src/index.ts answers the
 * command lines `status` accepts before commander and the program load, as it answers `--version`.
 * Anything else — help, an unknown flag, a missing value, an operand — is left to the full program
 * (undefined here), so its output, errors and exit codes stay commander's.
 */
export interface StatusArgs {
  json: boolean;
  /** `--config <file>` */
  configPath?: string;
  /** `--recordings-dir <dir>`, when given */
  recordingsDir?: string;
}

/** The options of `status` that take a value (as registered in program.ts), and where each goes. */
const VALUE_OPTIONS: Readonly<Record<string, 'configPath' | 'recordingsDir'>> = {
  '--config': 'configPath',
  '--recordings-dir': 'recordingsDir',
};

/**
 * Pure: `[--no-color] status [--json] [--no-color] [--config <file>] [--recordings-dir <dir>]`, in any
 * order, `--opt=value` too, the last of a repeated option winning (as commander does); else undefined.
 */
export function parseStatusArgs(args: readonly string[]): StatusArgs | undefined {
  const at = args.indexOf('status');
  // Before the command, only the program's own option (it takes no value; commandOf reads it alike).
  if (at < 0 || args.slice(0, at).some((arg) => arg !== '--no-color')) return undefined;
  const parsed: StatusArgs = { json: false };
  for (let i = at + 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') parsed.json = true;
    else if (arg !== '--no-color') {
      const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
      const name = equals < 0 ? arg : arg.slice(0, equals);
      if (!Object.hasOwn(VALUE_OPTIONS, name)) return undefined;
      const value = equals < 0 ? args[++i] : arg.slice(equals + 1);
      // commander takes any next word as the value, but the program reads its own options (--no-color,
      // --help, --version) wherever they are: a value that looks like an option is left to it.
      if (value === undefined || value.startsWith('-')) return undefined;
      parsed[VALUE_OPTIONS[name]!] = value;
    }
  }
  return parsed;
}

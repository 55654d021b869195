import type { Command } from 'commander';

/** The program's commands and options as plain data: what completion scripts and the man page are made from. */
export interface CommandTree {
  name: string;
  /** `sessions list`; '' for the program. */
  path: string;
  description: string;
  /** commander's usage line: `[options] <id>`. */
  usage: string;
  options: TreeOption[];
  commands: CommandTree[];
}

export interface TreeOption {
  /** As written in help: `-q, --quiet`, `--duration <duration>`. */
  flags: string;
  long?: string;
  short?: string;
  /** It takes a value (`--input <source>`). */
  takesValue: boolean;
  description: string;
}

/** The tree of a fully registered commander program (commander's implicit `help` command is left out). */
export function commandTree(command: Command, parentPath = ''): CommandTree {
  const path = command.parent ? (parentPath ? `${parentPath} ${command.name()}` : command.name()) : '';
  const options: TreeOption[] = command.options
    .filter((option) => !option.hidden)
    .map((option) => ({
      flags: option.flags,
      long: option.long,
      short: option.short,
      takesValue: option.required || option.optional,
      description: option.description,
    }));
  options.push({ flags: '-h, --help', long: '--help', short: '-h', takesValue: false, description: 'display help for command' });
  return {
    name: command.name(),
    path,
    description: command.description(),
    usage: command.usage(),
    options,
    commands: command.commands.map((sub) => commandTree(sub, path)),
  };
}

/** Every command of the tree, the program first, then depth first. */
export function allCommands(tree: CommandTree): CommandTree[] {
  return [tree, ...tree.commands.flatMap(allCommands)];
}

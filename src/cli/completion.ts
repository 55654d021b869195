import { UsageError } from '../errors.js';
import { allCommands, type CommandTree } from './command-tree.js';

/**
 * `echolog completion bash|zsh|fish`: a completion script generated from the program's commands and
 * options (command-tree.ts), so it never lags behind them. Pure: each returns the script's text.
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function completionScript(shell: string, tree: CommandTree): string {
  if (shell === 'bash') return bashCompletion(tree);
  if (shell === 'zsh') return zshCompletion(tree);
  if (shell === 'fish') return fishCompletion(tree);
  throw new UsageError(`completion ${JSON.stringify(shell)} is not allowed: give ${SHELLS.join(', ')}`);
}

/** A command's options, long and short. */
function optionWords(command: CommandTree): string[] {
  return command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
}

function bashCase(command: CommandTree): string {
  return `    '${command.path}') subcommands='${command.commands.map((c) => c.name).join(' ')}' options='${optionWords(command).join(' ')}' ;;`;
}

/**
 * Walks the words before the cursor: a word naming a subcommand of the path so far extends it; an
 * option that takes a value skips its value. At the path reached, a word starting with `-` is
 * completed from its options, any other from its subcommands; with none (an argument: a file, a
 * session id) bash falls back to file names (`complete -o default`).
 */
export function bashCompletion(tree: CommandTree): string {
  const commands = allCommands(tree);
  const paths = commands.filter((c) => c.commands.length > 0).flatMap((c) => c.commands.map((sub) => `'${sub.path}'`));
  const valued = [
    ...new Set(commands.flatMap((c) => c.options.filter((o) => o.takesValue).flatMap((o) => [o.long, o.short].filter(Boolean)))),
  ];
  return `# echolog completion for bash. Load it with: source <(echolog completion bash)
# or save it as ~/.local/share/bash-completion/completions/echolog
_echolog() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path='' word subcommands='' options='' i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${valued.join('|')}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "\${path:+$path }$word" in
      ${paths.join('|')}) path="\${path:+$path }$word" ;;
    esac
  done
  case "$path" in
${commands.map(bashCase).join('\n')}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else COMPREPLY=($(compgen -W "$subcommands" -- "$cur")); fi
}
complete -o default -F _echolog echolog
`;
}

/** zsh runs the bash function through its bashcompinit layer: one walk of the words for both shells. */
export function zshCompletion(tree: CommandTree): string {
  return `#compdef echolog
# echolog completion for zsh. Load it with: source <(echolog completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(tree)
  .split('\n')
  .filter((line) => !line.startsWith('#'))
  .join('\n')}`;
}

function fishQuote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** One `complete` line per subcommand and per option, each under the condition of its command's path. */
export function fishCompletion(tree: CommandTree): string {
  const lines = ['# echolog completion for fish. Load it with: echolog completion fish | source', 'complete -c echolog -f'];
  for (const command of allCommands(tree)) {
    const names = command.path === '' ? [] : command.path.split(' ');
    const subs = command.commands.map((c) => c.name);
    // On this command's path, and on no deeper one.
    const seen = names.map((name) => `__fish_seen_subcommand_from ${name}`);
    const notDeeper = subs.length > 0 ? [`not __fish_seen_subcommand_from ${subs.join(' ')}`] : [];
    const condition = command.path === '' ? '__fish_use_subcommand' : [...seen, ...notDeeper].join('; and ');
    for (const sub of command.commands)
      lines.push(`complete -c echolog -n ${fishQuote(condition)} -a ${sub.name} -d ${fishQuote(sub.description)}`);
    for (const option of command.options) {
      const flags = [option.long && `-l ${option.long.slice(2)}`, option.short && `-s ${option.short.slice(1)}`].filter(Boolean).join(' ');
      lines.push(
        `complete -c echolog -n ${fishQuote(condition)} ${flags}${option.takesValue ? ' -r -F' : ''} -d ${fishQuote(option.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

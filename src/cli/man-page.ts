import { allCommands, type CommandTree } from './command-tree.js';
import { EXIT_CODES, HELP, helpSections, PROGRAM_FOOTER } from './help-text.js';

/**
 * `echolog man`: the man page, in roff (man(7) macros), made from the same commands, options,
 * examples, environment and exit codes as `--help`, so the two never disagree. Pure.
 * `echolog man > echolog.1 && man -l echolog.1`, or install it as man1/echolog.1.
 */
export function manPage(tree: CommandTree, version: string, date: string): string {
  const lines = [
    `.TH ECHOLOG 1 "${date}" "echolog ${version}" "User Commands"`,
    '.SH NAME',
    `echolog \\- ${escape(tree.description.replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
    '.B echolog',
    `.I command`,
    '[options]',
    '.SH DESCRIPTION',
    escape(tree.description),
    escape(PROGRAM_FOOTER),
    '.SH COMMANDS',
  ];
  for (const command of allCommands(tree).slice(1)) {
    lines.push(`.SS "echolog ${command.path} ${escape(command.usage)}"`, escape(command.description));
    for (const option of command.options) lines.push('.TP', `.B ${escape(option.flags)}`, escape(option.description));
    const help = HELP[command.path];
    if (!help) continue;
    for (const section of helpSections(help)) {
      lines.push('.PP', `.I ${section.heading.replace(/:$/, '')}`);
      for (const [left, right] of section.items) lines.push('.TP', `.B ${escape(left)}`, escape(right));
    }
  }
  lines.push('.SH EXIT STATUS');
  for (const [code, meaning] of EXIT_CODES) lines.push('.TP', `.B ${code}`, escape(meaning));
  lines.push('.SH SEE ALSO', 'ffmpeg(1), pocketsphinx_continuous(1)', '');
  return lines.join('\n');
}

/**
 * Text as roff reads it literally: backslashes and minus signs escaped, a leading `.` or `'` not taken
 * for a request, and anything beyond ASCII as a \[uXXXX] glyph (roff's input is not UTF-8 everywhere).
 */
function escape(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/[^\x00-\x7f]/gu, (char) => `\\[u${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

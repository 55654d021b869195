import { Help, type Command } from 'commander';
import { HELP, helpSections, PROGRAM_FOOTER, PROGRAM_SECTIONS, type HelpSection } from './help-text.js';

/** A command's path below the program: `record`, `sessions list`; '' for the program itself. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** A term wider than this goes on a line of its own, its text below it: long ones would leave the text no room. */
const MAX_TERM_WIDTH = 30;

/**
 * commander's help, then the command's Examples and Environment (the program's Exit codes), wrapped
 * to the same width as commander's own sections (the terminal's, else $COLUMNS, else 80).
 */
export function formatHelpWithSections(command: Command, helper: Help): string {
  const base = Help.prototype.formatHelp.call(helper, command, helper);
  const path = commandPath(command);
  const help = HELP[path];
  const sections = path === '' ? PROGRAM_SECTIONS : help ? helpSections(help) : [];
  const width = helper.helpWidth ?? 80;
  const lines = sections.flatMap((section) => [helper.styleTitle(section.heading), ...formatSection(section, helper, width), '']);
  if (path === '') lines.push(helper.boxWrap(PROGRAM_FOOTER, width), '');
  return `${base}\n${lines.join('\n')}`;
}

function formatSection(section: HelpSection, helper: Help, width: number): string[] {
  if (section.examples) {
    // A comment saying what it does, then the command as it is typed (never wrapped: it pastes into a shell).
    return section.items.flatMap(([command, what]) => [indentWrapped(`# ${what}`, '  ', helper, width), `  $ ${command}`]);
  }
  const termWidth = Math.min(MAX_TERM_WIDTH, Math.max(...section.items.map(([term]) => term.length)));
  return section.items.map(([term, text]) =>
    term.length <= termWidth
      ? helper.formatItem(term, termWidth, text, helper)
      : `  ${term}\n${indentWrapped(text, ' '.repeat(termWidth + 4), helper, width)}`,
  );
}

function indentWrapped(text: string, indent: string, helper: Help, width: number): string {
  return helper
    .boxWrap(text, width - indent.length)
    .split('\n')
    .map((line) => `${indent}${line}`)
    .join('\n');
}

/**
 * The command as a user pastes it into a POSIX shell to reproduce the capture. Each word that is
 * not plainly safe is single-quoted, where the shell changes nothing (no `$`, `\`, `!` or glob
 * expansion), and a `'` inside becomes `'\''`. shell-quote's backslash escapes (`c\:a`) broke
 * ffmpeg's `-c:a`-style options and lavfi's own `\:` escapes once pasted (issue 8, row 10).
 */
export function formatCommandLine(binary: string, args: readonly string[]): string {
  return [binary, ...args].map(quoteWord).join(' ');
}

/** Characters no POSIX shell treats specially anywhere in a word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quoteWord(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

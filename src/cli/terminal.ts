/**
 * How output may look on this stream: colour and an animated spinner, decided from the environment
 * and the stream alone (pure, so every convention is unit-tested):
 * - colour is off with `--no-color`, any non-empty `NO_COLOR` (https://no-color.org) or `FORCE_COLOR=0`,
 *   and on a stream that is not a colour terminal;
 * - a spinner animates only on a TTY whose `TERM` is not `dumb`, that reports its width (ora's redraw
 *   divides by it: a pty without a size, as `script` makes from a pipe, made it clear lines forever),
 *   outside CI; otherwise plain lines, since a spinner that cannot redraw leaves one frozen line.
 */
export interface TerminalStyle {
  color: boolean;
  animate: boolean;
}

export interface TerminalFacts {
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /** The terminal's width; 0 or undefined when it does not say. */
  columns: number | undefined;
  /** `--no-color` was given. */
  noColorFlag: boolean;
}

export function terminalStyle({ env, isTTY, columns, noColorFlag }: TerminalFacts): TerminalStyle {
  const dumb = env.TERM === 'dumb';
  const animate = isTTY && !dumb && !env.CI && (columns ?? 0) > 0;
  const colorRefused = noColorFlag || Boolean(env.NO_COLOR) || env.FORCE_COLOR === '0';
  return { color: !colorRefused && isTTY && !dumb, animate };
}

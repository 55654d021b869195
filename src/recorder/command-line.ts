import { quote } from 'shell-quote';

/** The command as a user pastes it into a POSIX shell to reproduce the capture. */
export function formatCommandLine(binary: string, args: readonly string[]): string {
  return quote([binary, ...args]);
}

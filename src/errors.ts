/**
 * The small set of errors a user can act on. `main` prints their message (never a stack)
 * and exits with their `exitCode`; anything else is a bug and prints its stack.
 */
export class EchologError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flag, bad config value, missing input: refused before anything is created. */
export class UsageError extends EchologError {
  override readonly exitCode = 2;
}

export class ConfigError extends UsageError {}

export class FfmpegNotFoundError extends EchologError {}

export class SessionBusyError extends EchologError {}

export class SessionNotFoundError extends EchologError {}

/** The session's storage failed under it (full disk, deleted folder, I/O error): the session stopped. */
export class StorageError extends EchologError {}

export class TranscriptionError extends EchologError {}

/** ffmpeg ended on its own with a failure; carries what a user needs to triage it. */
export class FfmpegExitError extends EchologError {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: readonly string[],
  ) {
    super(describeFfmpegExit(code, signal, stderrTail));
  }
}

function describeFfmpegExit(code: number | null, signal: NodeJS.Signals | null, tail: readonly string[]): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const detail = tail.length > 0 ? `:\n  ${tail.join('\n  ')}` : ' (no error output)';
  return `ffmpeg ${how}${detail}`;
}

/** Exit codes, documented in README.md. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  interrupted: 130,
  terminated: 143,
} as const;

/** A session's session.json is unreadable and could not be rebuilt from the folder. */
export class ManifestError extends EchologError {}

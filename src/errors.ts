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

/** The session's storage failed under it (full disk, deleted folder, I/O error): the session stopped. */
export class StorageError extends EchologError {}

export class TranscriptionError extends EchologError {}

/** The input ended early with errors (a damaged file): what was read is kept, the rest is not there. */
export class InputDamagedError extends EchologError {}

/** A capture device went away and did not come back within recording.reconnect_timeout. */
export class DeviceLostError extends EchologError {}

/** Too little free space to record (recording.min_free_mb): refused, or stopped before the disk filled. */
export class DiskLowError extends EchologError {}

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

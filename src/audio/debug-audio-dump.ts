import fs from 'node:fs/promises';
import path from 'node:path';
import { compactTimestamp } from '../logging/line-format.js';
import type { Logger } from '../logging/session-log.js';
import { makeDirectories } from '../files/make-directories.js';

/**
 * Seed 000's debug audio dump: with ECHOLOG_DEBUG_AUDIO_DUMP=1, the exact PCM handed to the
 * engine (in its own format, e.g. 16 kHz mono s16le, whatever the chunks are) is appended to
 * `<dir>/<session_id>_<source>_<timestamp>.pcm` (dir from ECHOLOG_DEBUG_AUDIO_DUMP_DIR, default
 * `debug/` in the session folder). Off by default: it is a copy of what was said. Created on the
 * first piece, written through piece by piece as the engine gets them (bounded, like them),
 * closed at the end; a failure is logged once and turns the dump off, never the recording or
 * transcription.
 */
export class DebugAudioDump {
  private handle: fs.FileHandle | undefined;
  private failed = false;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {}

  static fromEnv(
    env: NodeJS.ProcessEnv,
    options: { sessionDir: string; sessionId: string; source: string; now: Date; logger: Logger },
  ): DebugAudioDump | undefined {
    if (env.ECHOLOG_DEBUG_AUDIO_DUMP !== '1') return undefined;
    const dir = env.ECHOLOG_DEBUG_AUDIO_DUMP_DIR
      ? path.resolve(options.sessionDir, env.ECHOLOG_DEBUG_AUDIO_DUMP_DIR)
      : path.join(options.sessionDir, 'debug');
    return new DebugAudioDump(path.join(dir, dumpFileName(options.sessionId, options.source, options.now)), options.logger);
  }

  write(pcm: Buffer): Promise<void> {
    this.writing = this.writing.then(() => this.writeNow(pcm));
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing;
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return;
    try {
      await handle.close();
      this.logger.info('debug_audio_dump_closed', { path: this.file });
    } catch (error) {
      this.fail('close', error);
    }
  }

  private async writeNow(pcm: Buffer): Promise<void> {
    if (this.failed) return;
    let stage = 'open';
    try {
      if (!this.handle) {
        await makeDirectories(path.dirname(this.file), 0o700);
        this.handle = await fs.open(this.file, 'a', 0o600);
        this.logger.info('debug_audio_dump_enabled', { path: this.file });
      }
      stage = 'write';
      // FileHandle.write goes straight to write(2): nothing is held back in a buffer.
      await this.handle.write(pcm);
    } catch (error) {
      this.fail(stage, error);
    }
  }

  private fail(stage: string, error: unknown): void {
    this.failed = true;
    this.logger.warning('debug_audio_dump_failed', { stage, path: this.file, reason: (error as Error).message });
    void this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }
}

export function dumpFileName(sessionId: string, source: string, now: Date): string {
  return `${sessionId}_${source}_${compactTimestamp(now)}.pcm`;
}

import { formatDb } from '../audio/audio-level.js';
import { measureFileLevel } from '../audio/engine-audio.js';
import type { Logger } from '../logging/session-log.js';
import type { Chunk } from '../recorder/chunk.js';
import { captureStatus, type ManifestStore } from '../sessions/session-manifest.js';
import { diskVerdict, freeBytes, WARN_FACTOR } from './disk-guard.js';
import { SilenceAlarm, SILENT_INPUT_DB } from './silence-alarm.js';
import { formatMib, MIB } from '../format-bytes.js';

export const SILENT_INPUT_MESSAGE = 'input is silent: muted microphone or wrong device?';

export interface ChunkMonitorOptions {
  sessionDir: string;
  logger: Logger;
  manifest: ManifestStore;
  silenceAlarmSeconds: number;
  minFreeMb: number;
  /** Said on stderr (the silent-input line). */
  warn: (message: string) => void;
  /** The disk reached min_free_mb: the session must stop. */
  onDiskLow: (message: string) => void;
}

/**
 * Looks at each finished chunk beside the log: its level (session.json, for `status`), the
 * silent-input alarm, and the free space left (`recording.min_free_mb`). Chunks are looked at in
 * order, off the chunk's way to the log and the transcriber.
 */
export class ChunkMonitor {
  private queue: Promise<void> = Promise.resolve();
  private readonly alarm: SilenceAlarm;
  private diskWarned = false;
  private diskLow = false;

  constructor(private readonly options: ChunkMonitorOptions) {
    this.alarm = new SilenceAlarm(options.silenceAlarmSeconds);
  }

  onChunk(chunk: Chunk): void {
    this.queue = this.queue.then(() => this.look(chunk)).catch((error: unknown) => {
      this.options.logger.warning('chunk_monitor_error', { seq: chunk.seq, reason: (error as Error).message });
    });
  }

  settled(): Promise<void> {
    return this.queue;
  }

  /** The free-space check on its own: at start, and with each chunk. */
  async checkDisk(): Promise<void> {
    const { minFreeMb, logger } = this.options;
    if (minFreeMb <= 0 || this.diskLow) return;
    const free = await freeBytes(this.options.sessionDir);
    const verdict = diskVerdict(free, minFreeMb);
    if (verdict === 'too_low') {
      this.diskLow = true;
      this.options.onDiskLow(`${formatMib(free)} free in ${this.options.sessionDir}, below recording.min_free_mb (${minFreeMb} MiB)`);
    } else if (verdict === 'low' && !this.diskWarned) {
      this.diskWarned = true;
      logger.warning('disk_space_low', { free_mb: Math.floor(free / MIB), min_free_mb: minFreeMb, warn_below_mb: WARN_FACTOR * minFreeMb, detail: `recording stops at ${minFreeMb} MiB free` });
    }
  }

  private async look(chunk: Chunk): Promise<void> {
    const level = await measureFileLevel(chunk.path, chunk.wav);
    const db = formatDb(level.levelDb);
    await this.options.manifest.update((m) => (m.capture = { ...captureStatus(m), last_level_db: db })).catch(() => undefined);
    const event = this.alarm.observe(level.levelDb, chunk.durationSeconds);
    if (event?.kind === 'silent') {
      this.options.logger.warning('input_silent', { seq: chunk.seq, silent_s: event.seconds, level_db: db, below_db: SILENT_INPUT_DB, detail: SILENT_INPUT_MESSAGE });
      this.options.warn(SILENT_INPUT_MESSAGE);
    } else if (event?.kind === 'sound_returned') {
      this.options.logger.info('input_sound_returned', { seq: chunk.seq, silent_s: event.silentSeconds, level_db: db });
    }
    await this.checkDisk();
  }
}

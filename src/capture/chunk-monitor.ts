import { formatDb } from '../audio/audio-level.js';
import type { Logger } from '../logging/session-log.js';
import type { Chunk } from '../recorder/chunk.js';
import { captureStatus, type ManifestStore } from '../store/session-manifest.js';
import { diskVerdict, freeBytes, WARN_FACTOR } from './disk-guard.js';
import { SilenceAlarm, SILENT_INPUT_DB } from './silence-alarm.js';
import { formatMib, MIB } from '../format-bytes.js';

/** The free space is asked at least this often while chunks come. */
const DISK_CHECK_MAX_INTERVAL_MS = 10_000;

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
 * Watches the captured audio beside the log: its level as ffmpeg measures it per window
 * (`onLevel`, see ffmpeg-args.ts levelReportFilter: no chunk is read back in JS), the silent-input
 * alarm, the level for `status` (the loudest window since the chunk before, written with each
 * chunk when it changed), and the free space left (`recording.min_free_mb`). Chunks are looked at
 * in order, off the chunk's way to the log and the transcriber.
 */
export class ChunkMonitor {
  private queue: Promise<void> = Promise.resolve();
  private readonly alarm: SilenceAlarm;
  private diskWarned = false;
  private diskLow = false;
  /** The loudest window since the last chunk; undefined before any window. */
  private loudestDb: number | undefined;
  /** The level session.json holds, so that an unchanged level costs no write. */
  private writtenLevel: string | null = null;
  /** The last chunk's seq: a window belongs to the chunk after it. */
  private lastSeq = 0;
  /** Bytes the session may still write before the free space must be asked again (see checkDisk). */
  private bytesUntilDiskCheck = 0;
  private lastDiskCheckMs = 0;

  constructor(private readonly options: ChunkMonitorOptions) {
    this.alarm = new SilenceAlarm(options.silenceAlarmSeconds);
  }

  /** A window of audio ffmpeg measured: `db` is its RMS level in dBFS. */
  onLevel(db: number, seconds: number): void {
    this.loudestDb = Math.max(this.loudestDb ?? -Infinity, db);
    const event = this.alarm.observe(db, seconds);
    const seq = this.lastSeq + 1;
    if (event?.kind === 'silent') {
      this.options.logger.warning('input_silent', {
        seq,
        silent_s: event.seconds,
        level_db: formatDb(db),
        below_db: SILENT_INPUT_DB,
        detail: SILENT_INPUT_MESSAGE,
      });
      this.options.warn(SILENT_INPUT_MESSAGE);
    } else if (event?.kind === 'sound_returned') {
      this.options.logger.info('input_sound_returned', { seq, silent_s: event.silentSeconds, level_db: formatDb(db) });
    }
  }

  onChunk(chunk: Chunk): void {
    this.lastSeq = chunk.seq;
    const level = this.loudestDb === undefined ? undefined : formatDb(this.loudestDb);
    this.loudestDb = undefined;
    this.queue = this.queue
      .then(() => this.look(level, chunk.sizeBytes))
      .catch((error: unknown) => {
        this.options.logger.warning('chunk_monitor_error', { seq: chunk.seq, reason: (error as Error).message });
      });
  }

  settled(): Promise<void> {
    return this.queue;
  }

  /**
   * The free-space check on its own: at start, and with the chunks. Far from the warning level it
   * is asked again only once the session wrote half the distance, or 10 s later (others write
   * too): a statfs per chunk cost more than the chunk's other work at full speed (issue 19).
   */
  async checkDisk(): Promise<void> {
    const { minFreeMb, logger } = this.options;
    if (minFreeMb <= 0 || this.diskLow) return;
    const free = await freeBytes(this.options.sessionDir);
    this.lastDiskCheckMs = Date.now();
    const verdict = diskVerdict(free, minFreeMb);
    this.bytesUntilDiskCheck = verdict === 'ok' ? (free - WARN_FACTOR * minFreeMb * MIB) / 2 : 0;
    if (verdict === 'too_low') {
      this.diskLow = true;
      this.options.onDiskLow(`${formatMib(free)} free in ${this.options.sessionDir}, below recording.min_free_mb (${minFreeMb} MiB)`);
    } else if (verdict === 'low' && !this.diskWarned) {
      this.diskWarned = true;
      logger.warning('disk_space_low', {
        free_mb: Math.floor(free / MIB),
        min_free_mb: minFreeMb,
        warn_below_mb: WARN_FACTOR * minFreeMb,
        detail: `recording stops at ${minFreeMb} MiB free`,
      });
    }
  }

  private async look(level: string | undefined, chunkBytes: number): Promise<void> {
    if (level !== undefined && level !== this.writtenLevel) {
      this.writtenLevel = level;
      // Not waited for: an atomic write is held back up to a second (joined by the chunk counts of
      // that second), and waiting here held each chunk that second, so at full speed the monitor
      // fell behind ffmpeg by a second per chunk whose level changed (real speech: every chunk).
      void this.options.manifest
        .update((m) => (m.capture = { ...captureStatus(m), last_level_db: level }), 'atomic')
        .catch(() => undefined);
    }
    this.bytesUntilDiskCheck -= chunkBytes;
    if (this.bytesUntilDiskCheck <= 0 || Date.now() - this.lastDiskCheckMs >= DISK_CHECK_MAX_INTERVAL_MS) await this.checkDisk();
  }
}

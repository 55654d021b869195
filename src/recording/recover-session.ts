import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { EchologConfig } from '../config/schema.js';
import { SessionLog } from '../logging/session-log.js';
import type { Logger } from '../logging/session-log.js';
import { stopProcessByPid } from '../process/managed-process.js';
import { chunkPatternIn, segmentListName, segmentListRun } from '../recorder/ffmpeg-args.js';
import { repairUnlistedChunks } from '../capture/torn-chunk.js';
import { readSessionSegmentLists } from '../recorder/segment-list-watcher.js';
import { isEchologAlive, isProcessAlive, judgeIdentity, observeProcess, readStartTicks } from '../process/process-identity.js';
import { ManifestError } from '../errors.js';
import { isSessionOrphaned, type ActiveLock } from '../store/active-lock.js';
import { ChunkLedger } from './chunk-ledger.js';
import { listSessions } from '../store/session-list.js';
import { BALLAST_NAME } from './disk-ballast.js';
import { finalStatusFor, STOP_REASONS, type StopReason } from '../store/stop-reason.js';
import { recordingsDirError } from '../store/recordings-dir.js';
import { gatherManifestEvidence, loadManifest } from '../store/manifest-rebuild.js';
import { judgeSessionFolder } from '../store/session-locate.js';
import { ManifestStore, type SessionManifest } from '../store/session-manifest.js';

export interface RecoverOptions {
  recordingsDir: string;
  sessionId: string;
  config: EchologConfig;
  stderr: Pick<Writable, 'write'>;
}

/**
 * Closes the books of a session whose echolog died without cleaning up (SIGKILL, a crash):
 * waits for its orphaned ffmpeg to finish the open chunk (the watchdog SIGINTs it; we do too),
 * logs every finished chunk that was never logged, and appends `session_stop reason=interrupted`.
 * Returns how many chunks it logged, or undefined if the session needed no recovery.
 */
export async function recoverInterruptedSession(options: RecoverOptions): Promise<number | undefined> {
  // The id comes from disk (a lock, a folder name): recovery writes only into a real session
  // folder of the user's, never through a symlink or outside the recordings dir.
  const folder = await judgeSessionFolder(options.recordingsDir, options.sessionId);
  if (!folder.ok) {
    if (!folder.missing) options.stderr.write(`echolog: not recovering session ${options.sessionId}: ${folder.why}\n`);
    return undefined;
  }
  const sessionDir = folder.dir;
  // `status` and `record` may both find the dead session at once: only one recovers it, and the
  // manifest is read after taking the marker, so a session recovered meanwhile is left alone.
  const marker = path.join(sessionDir, RECOVERING_MARKER);
  if (!(await takeMarker(marker, options.recordingsDir))) return undefined;
  try {
    const loaded = await loadManifest(sessionDir).catch((error: unknown) => {
      // Unreadable and not rebuildable: one line naming the file, and nothing else is touched.
      if (!(error instanceof ManifestError)) throw error;
      options.stderr.write(`echolog: ${error.message}\n`);
      return undefined;
    });
    if (!loaded) return undefined;
    const manifest = loaded.manifest;
    if (manifest.status !== 'recording' || isEchologAlive(manifest.pid, manifest.pid_start_ticks)) return undefined;
    if (loaded.rebuilt) options.stderr.write(`echolog: ${loaded.rebuilt}\n`);
    return await recoverLocked(sessionDir, manifest, options);
  } finally {
    await fs.rm(marker, { force: true });
  }
}

/**
 * Recovers every session that isSessionOrphaned (`recording`, its echolog gone) but the one `live`
 * holds the lock for: what `record` does while it records, so that a session whose lock was
 * removed by hand does not stay `recording` forever.
 */
export async function recoverOrphanedSessions(options: Omit<RecoverOptions, 'sessionId'>, live: ActiveLock | undefined): Promise<void> {
  const orphans = (await listSessions(options.recordingsDir)).filter((manifest) => isSessionOrphaned(manifest, live));
  for (const orphan of orphans) await recoverInterruptedSession({ ...options, sessionId: orphan.session_id });
}

const RECOVERING_MARKER = '.recovering';

/** Creates the marker exclusively; a marker left by a recovery that itself died is taken over. */
async function takeMarker(marker: string, recordingsDir: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(marker, `${process.pid} ${readStartTicks(process.pid) ?? ''}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return false; // no such session folder
      // The first write of a recovery: a read-only or unwritable recordings dir fails here.
      if (code !== 'EEXIST') throw recordingsDirError(recordingsDir, error);
    }
    const [pid, ticks] = (await fs.readFile(marker, 'utf8').catch(() => ''))
      .trim()
      .split(' ')
      .map((word) => (word ? Number(word) : undefined));
    if (pid !== undefined && isEchologAlive(pid, ticks)) return false;
    await fs.rm(marker, { force: true });
  }
  return false;
}

async function recoverLocked(sessionDir: string, manifest: SessionManifest, options: RecoverOptions): Promise<number> {
  // The room a dead session held back for its final records is no longer needed.
  await fs.rm(path.join(sessionDir, BALLAST_NAME), { force: true });
  // What the log (all of its files) already says: one read serves both questions below.
  const { stop, stopTime, logged } = await gatherManifestEvidence(sessionDir);
  if (stop) {
    // The session did end and say so; only its final session.json write failed (a full disk, an
    // I/O error). Finish session.json from that line: a second session_stop would be a lie.
    const reason = (STOP_REASONS as readonly string[]).includes(stop.reason ?? '') ? (stop.reason as StopReason) : 'error';
    await new ManifestStore(sessionDir, manifest).update((m) => {
      m.status = finalStatusFor(reason);
      m.stop_reason = reason;
      m.ended_at = stopTime ? new Date(stopTime).toISOString() : new Date().toISOString();
      m.error = stop.message ?? m.error;
    });
    return 0;
  }
  // The session's own level: the current config's could drop the chunk_created lines recovery owes.
  const log = SessionLog.open({ dir: sessionDir, level: manifest.log_level, rotation: options.config.logging, stderr: options.stderr });
  const logger = log.logger('echolog.recovery');
  if (manifest.ffmpeg_pid !== null)
    await stopOrphanedFfmpeg(
      manifest.ffmpeg_pid,
      manifest.ffmpeg_start_ticks,
      sessionDir,
      options.config.ffmpeg.stop_timeout * 1000,
      logger,
    );

  const store = new ManifestStore(sessionDir, manifest);
  // echolog may have died between a chunk_created line and the session.json write that counts it
  // (the line may have rotated into a backup since: all of the log's files count).
  const inLog = logged;
  const alreadyLogged = manifest.stats.chunks + (manifest.stats.incomplete_chunks ?? 0);
  const recorderLogger = log.logger('echolog.recorder');
  const ledger = new ChunkLedger(sessionDir, new Date(manifest.started_at), recorderLogger, store, () => undefined);
  // The chunk the dead ffmpeg was writing, as the live path repairs it after an ffmpeg run dies.
  const repaired = new Set((await repairTornChunksOf(sessionDir, recorderLogger)).map((row) => row.file));
  const rows = await readSessionSegmentLists(sessionDir);
  let recovered = 0;
  for (const row of rows.slice(alreadyLogged)) {
    if (inLog.has(row.file)) ledger.add(row, {}, true);
    else {
      ledger.add(row, { recovered: true, ...(repaired.has(row.file) ? { repaired: true } : {}) });
      recovered++;
    }
  }
  await ledger.settled();
  logger.warning('session_stop', {
    reason: 'interrupted',
    detail: `echolog (pid ${manifest.pid}) ended without stopping the session`,
    chunks: store.value.stats.chunks,
    recovered_chunks: recovered,
    audio_duration_s: store.value.stats.audio_duration_seconds,
  });
  await log.close();
  await store.update((m) => {
    m.status = 'interrupted';
    m.stop_reason = 'interrupted';
    m.ended_at = new Date().toISOString();
  });
  return recovered;
}

/**
 * Stops the session's orphaned ffmpeg (SIGINT keeps its open chunk) only once it is proven to be
 * that ffmpeg: the start time recorded at spawn, and a command line writing into this session's
 * folder. Any other process with the pid is left alone, and the log says why. Without /proc the
 * pid cannot be proven: it gets SIGINT and SIGTERM, never SIGKILL.
 */
async function stopOrphanedFfmpeg(
  pid: number,
  startTicks: number | null,
  sessionDir: string,
  stepMs: number,
  logger: Logger,
): Promise<void> {
  const marker = chunkPatternIn(sessionDir);
  const verdict = () => judgeIdentity(startTicks, marker, observeProcess(pid));
  const first = verdict();
  if (first.kind === 'other') {
    if (isProcessAlive(pid))
      logger.warning('ffmpeg_not_signalled', { pid, reason: `pid ${pid} is not this session's ffmpeg: ${first.why}` });
    return;
  }
  if (first.kind === 'unproven' && isProcessAlive(pid))
    logger.warning('ffmpeg_identity_unproven', { pid, reason: `${first.why}; stopping it without SIGKILL` });
  await stopProcessByPid(pid, stepMs, () => isProcessAlive(pid) && verdict().kind === first.kind, first.kind === 'proven');
}

/** Repairs a dead session's torn chunks into its last segment list (torn-chunk.ts: the live path's repair). */
async function repairTornChunksOf(sessionDir: string, logger: Logger) {
  const names = await fs.readdir(sessionDir);
  const lastRun = Math.max(1, ...names.map((name) => segmentListRun(name) ?? 1));
  const listed = new Set((await readSessionSegmentLists(sessionDir)).map((row) => row.file));
  return repairUnlistedChunks(sessionDir, { from: 1, listed, listName: segmentListName(lastRun), logger });
}

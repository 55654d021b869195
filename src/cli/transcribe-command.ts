import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { SessionBusyError, TranscriptionError, UsageError } from '../errors.js';
import { formatLogLine, type LogFields } from '../logging/line-format.js';
import type { Logger } from '../logging/session-log.js';
import { locateFfmpegFor } from '../recorder/ffmpeg-locator.js';
import { liveLock } from '../store/active-lock.js';
import { resolveUserPath } from '../files/paths.js';
import { loadManifest } from '../store/manifest-rebuild.js';
import { readChunks } from '../store/session-chunks.js';
import { locateSessionFolder } from '../store/session-locate.js';
import { writeManifest } from '../store/session-manifest.js';
import { ChunkTranscriber } from '../transcription/chunk-transcriber.js';
import { withTimeout } from '../with-timeout.js';
import { defaultEngineDeps, resolveEngine, type EngineDeps } from '../transcription/engines/resolve-engine.js';
import { countWords, coveredSeqs } from '../transcription/transcript/transcript-formats.js';
import { TranscriptStore } from '../transcription/transcript/transcript-store.js';
import { formatSeqs } from '../transcription/session-transcriber.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';
import { plural } from './text-format.js';

export interface TranscribeCommandOptions {
  resolved: ResolvedConfig;
  /** A session id: the name of a session folder directly inside the recordings dir. */
  session: string;
  engineDeps?: EngineDeps;
  /** `--json`: the result as JSON on stdout (transcribeJson). */
  json?: boolean;
}

export interface TranscribeResult {
  sessionId: string;
  sessionDir: string;
  engine: string | null;
  /** Chunks the transcript already covered. */
  covered: number;
  transcribed: number[];
  silent: number[];
  failed: number[];
  utterances: number;
  words: number;
}

/**
 * `echolog transcribe <session>`: transcribes the chunks a session's transcript lacks (an engine
 * failure, or a recording made with --no-transcribe), then rewrites the final formats. The
 * transcript.jsonl lines say which chunks are covered, so a second run finds nothing to do and
 * rewrites the same bytes.
 */
export async function transcribeSession(options: TranscribeCommandOptions, surroundings: Surroundings): Promise<TranscribeResult> {
  const config = options.resolved.config;
  // By the one rule every session command applies: an id, a folder directly inside the recordings dir.
  const sessionDir = await locateSessionFolder(resolveUserPath(config.recordings_dir, surroundings), options.session);
  const loaded = await loadManifest(sessionDir);
  if (!loaded) throw new UsageError(`${sessionDir} is not an echolog session folder (no session.json)`);
  if (loaded.rebuilt) surroundings.stderr.write(`echolog: ${loaded.rebuilt}\n`);
  const manifest = loaded.manifest;
  const live = await liveLock(path.dirname(sessionDir));
  if (live?.session_id === manifest.session_id) {
    throw new SessionBusyError(
      `session ${manifest.session_id} is still recording (pid ${live.pid}); its transcript grows as it records — run this after it stops`,
    );
  }

  const chunks = await readChunks(sessionDir, new Date(manifest.started_at));
  const store = new TranscriptStore(sessionDir);
  const lines = await store.read();
  const covered = coveredSeqs(lines);
  const missing = chunks.filter((chunk) => !covered.has(chunk.seq));
  const redo = new Set(missing.map((chunk) => chunk.seq));
  // Utterances already written for a chunk being redone come back from the engine: drop them first.
  if (lines.some((line) => redo.has(line.seq))) await store.rewrite(lines.filter((line) => !redo.has(line.seq)));
  const result: TranscribeResult = {
    sessionId: manifest.session_id,
    sessionDir,
    engine: null,
    covered: chunks.length - missing.length,
    transcribed: [],
    silent: [],
    failed: [],
    utterances: 0,
    words: 0,
  };

  if (missing.length > 0) {
    const resolution = await resolveEngine(config, surroundings.env, options.engineDeps ?? defaultEngineDeps);
    if (resolution.kind === 'off')
      throw new TranscriptionError(
        `cannot transcribe: ${resolution.reason}${resolution.hint ? `; ${resolution.hint}` : ''} (or pass --engine)`,
      );
    if (resolution.kind === 'missing') throw new TranscriptionError(`cannot transcribe: ${resolution.reason}`);
    result.engine = resolution.name;
    // Chunks in another format than the engine's are decoded to it by ffmpeg, as they are read.
    const ffmpeg = await locateFfmpegFor(options.resolved, surroundings.env);
    const engine = resolution.create();
    // A session recorded without transcription is transcribed by this engine from now on.
    if (!manifest.engine) Object.assign(manifest, { engine: resolution.name, model: engine.model });
    try {
      await withTimeout(engine.start(), config.transcription.ready_timeout * 1000, `${resolution.name} did not become ready: loading`);
    } catch (error) {
      await engine.close().catch(() => undefined);
      throw new TranscriptionError(`the ${resolution.name} engine failed to start: ${(error as Error).message}`);
    }
    const silentBefore = new Set<number>();
    const logger = stderrLogger(surroundings, (message, fields) => {
      if (message === 'chunk_silent') silentBefore.add(Number(fields?.seq));
    });
    const transcriber = new ChunkTranscriber({
      engine,
      engineName: resolution.name,
      config: config.transcription,
      ffmpegPath: ffmpeg.path,
      store,
      logger,
      realtime: false,
    });
    for (const chunk of missing) transcriber.enqueue(chunk);
    await transcriber.idle();
    // No recording to keep up with: wait as long as the engine needs to hand back its last words.
    const left = new Set(await transcriber.drain(3_600_000));
    for (const chunk of missing) {
      if (left.has(chunk.seq)) result.failed.push(chunk.seq);
      else if (silentBefore.has(chunk.seq)) result.silent.push(chunk.seq);
      else result.transcribed.push(chunk.seq);
    }
  }

  const doc = await store.writeFinal({
    sessionId: manifest.session_id,
    language: config.transcription.language,
    duration: manifest.stats.audio_duration_seconds,
  });
  result.utterances = doc.utterances.length;
  result.words = countWords(doc.text);
  if (
    loaded.rebuilt ||
    missing.length > 0 ||
    manifest.stats.utterance_count !== result.utterances ||
    manifest.stats.word_count !== result.words
  ) {
    manifest.stats.utterance_count = result.utterances;
    manifest.stats.word_count = result.words;
    if (manifest.transcription) {
      manifest.transcription.failed_chunks = result.failed.length;
      manifest.transcription.pending_chunks = 0;
      manifest.transcription.lag_seconds = 0;
      manifest.transcription.utterance_count = result.utterances;
      manifest.transcription.word_count = result.words;
    }
    await writeManifest(sessionDir, manifest);
  }
  return result;
}

export async function transcribeCommand(options: TranscribeCommandOptions, surroundings: Surroundings): Promise<number> {
  const result = await transcribeSession(options, surroundings);
  surroundings.stdout.write(options.json ? formatJson(transcribeJson(result)) : formatTranscribeResult(result));
  if (result.failed.length > 0) {
    throw new TranscriptionError(
      `${plural(result.failed.length, 'chunk')} could not be transcribed (seq ${formatSeqs(result.failed)}); run echolog transcribe ${result.sessionId} again`,
    );
  }
  return 0;
}

/** `transcribe --json`: snake_case, chunk lists as seq numbers. */
export function transcribeJson(result: TranscribeResult): Record<string, unknown> {
  const { sessionId, sessionDir, ...counts } = result;
  return { session_id: sessionId, session_dir: sessionDir, ...counts, transcript: path.join(sessionDir, 'transcript.txt') };
}

export function formatTranscribeResult(result: TranscribeResult): string {
  const lines = [
    result.transcribed.length + result.silent.length + result.failed.length === 0
      ? `${result.sessionId}: transcript already covers all ${plural(result.covered, 'chunk')}`
      : `${result.sessionId}: transcribed ${plural(result.transcribed.length, 'chunk')} with ${result.engine}` +
        (result.silent.length > 0 ? `, ${result.silent.length} silent` : '') +
        (result.failed.length > 0 ? `, ${result.failed.length} failed` : ''),
    `${plural(result.utterances, 'utterance')}, ${plural(result.words, 'word')}: ${path.join(result.sessionDir, 'transcript.txt')}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Warnings and errors of the transcriber go to stderr; `observe` sees every line. */
function stderrLogger(surroundings: Surroundings, observe: (message: string, fields?: LogFields) => void): Logger {
  const say = (level: 'WARNING' | 'ERROR') => (message: string, fields?: LogFields) => {
    observe(message, fields);
    surroundings.stderr.write(`${formatLogLine({ time: surroundings.now(), level, logger: 'echolog.transcribe', message, fields })}\n`);
  };
  return { debug: observe, info: observe, warning: say('WARNING'), error: say('ERROR') };
}

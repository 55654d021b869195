import type { ResolvedConfig } from '../config/resolve-config.js';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { locateFfmpegFor } from '../recorder/ffmpeg-locator.js';
import { liveLock } from '../store/active-lock.js';
import { readChunks } from '../store/session-chunks.js';
import {
  AUDIO_FORMATS,
  checkExportTarget,
  exportAudio,
  exportWriteError,
  formatOfFile,
  mergeTranscripts,
  TRANSCRIPT_FORMATS,
  writeTranscriptExport,
  type AudioFormat,
  type ExportTarget,
  type TranscriptFormat,
  type TranscriptPart,
} from '../sessions/session-export.js';
import { locateSessionFolder } from '../store/session-locate.js';
import type { SessionManifest } from '../store/session-manifest.js';
import { resolveChain, type SessionChain } from '../sessions/session-query.js';
import { TranscriptStore } from '../transcription/transcript/transcript-store.js';
import { indexOf, recordingsDirOf, requireManifest, type SessionsOptions } from './sessions-command.js';
import { formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';

/** `echolog sessions export`: a session's (or its resume chain's) audio in one file, and its transcript in another format. */
export interface ExportOptions extends SessionsOptions {
  /** The whole config: which ffmpeg, and the language of a transcript that names none. */
  resolved: ResolvedConfig;
  id: string;
  audio?: string;
  transcript?: string;
  followChain: boolean;
  force: boolean;
  /** `--json`: what was written, as JSON on stdout. */
  json?: boolean;
}

export interface ExportResult {
  ids: string[];
  audio?: { file: string; chunks: number; seconds: number };
  transcript?: { file: string; utterances: number };
}

export async function exportSession(options: ExportOptions, surroundings: Surroundings): Promise<ExportResult> {
  if (options.audio === undefined && options.transcript === undefined)
    throw new UsageError('sessions export needs --audio <file> and/or --transcript <file>');
  const outputs = [options.audio, options.transcript].flatMap((file) => (file === undefined ? [] : [path.resolve(surroundings.cwd, file)]));
  const audioFormat = options.audio === undefined ? undefined : formatOfFile(options.audio, AUDIO_FORMATS, '--audio');
  const transcriptFormat =
    options.transcript === undefined ? undefined : formatOfFile(options.transcript, TRANSCRIPT_FORMATS, '--transcript');
  const recordingsDir = await recordingsDirOf(options, surroundings);
  const targets: ExportTarget[] = [];
  try {
    for (const file of outputs) targets.push(await checkExportTarget(file, recordingsDir, options.force));
    const audio = audioFormat && { target: targets[0]!, format: audioFormat };
    const transcript = transcriptFormat && { target: targets.at(-1)!, format: transcriptFormat };
    return await exportInto({ audio, transcript }, recordingsDir, options, surroundings);
  } finally {
    for (const target of targets) await target.close();
  }
}

/** The export, once its targets' folders are open and judged (checkExportTarget). */
async function exportInto(
  outputs: {
    audio: { target: ExportTarget; format: AudioFormat } | undefined;
    transcript: { target: ExportTarget; format: TranscriptFormat } | undefined;
  },
  recordingsDir: string,
  options: ExportOptions,
  surroundings: Surroundings,
): Promise<ExportResult> {
  await locateSessionFolder(recordingsDir, options.id);
  const ids = options.followChain
    ? chainIds(resolveChain(await indexOf(recordingsDir, surroundings), options.id), options.id, surroundings)
    : [options.id];
  const live = await liveLock(recordingsDir);
  if (live && ids.includes(live.session_id))
    surroundings.stderr.write(`echolog: ${live.session_id} is still recording: exporting the chunks it has finished so far\n`);

  const parts: Array<TranscriptPart & { manifest: SessionManifest; dir: string }> = [];
  const chunks = [];
  let offsetSeconds = 0;
  for (const id of ids) {
    const dir = await locateSessionFolder(recordingsDir, id);
    const manifest = await requireManifest(dir, surroundings);
    const own = await readChunks(dir, new Date(manifest.started_at));
    parts.push({ manifest, dir, offsetSeconds, lines: await new TranscriptStore(dir).read() });
    chunks.push(...own);
    offsetSeconds += own.reduce((sum, c) => sum + c.durationSeconds, 0);
  }
  const result: ExportResult = { ids };
  if (outputs.audio) {
    const ffmpeg = await locateFfmpegFor(options.resolved, surroundings.env);
    const file = outputs.audio.target.file;
    const seconds = await exportAudio({
      ffmpegPath: ffmpeg.path,
      chunks,
      format: outputs.audio.format,
      target: outputs.audio.target,
    }).catch((error: unknown) => {
      throw exportWriteError(file, error);
    });
    result.audio = { file, chunks: chunks.length, seconds };
  }
  if (outputs.transcript) {
    const last = parts.at(-1)!.manifest;
    const doc = mergeTranscripts(parts, {
      sessionId: options.id,
      language: last.language ?? options.resolved.config.transcription.language,
      duration: offsetSeconds,
    });
    const file = outputs.transcript.target.file;
    await writeTranscriptExport(outputs.transcript.target, doc, outputs.transcript.format).catch((error: unknown) => {
      const also = result.audio ? ` (the audio was exported to ${result.audio.file})` : '';
      throw exportWriteError(file, error, also);
    });
    result.transcript = { file, utterances: doc.utterances.length };
  }
  return result;
}

function chainIds(chain: SessionChain, id: string, surroundings: Surroundings): string[] {
  if (chain.fork) {
    throw new UsageError(
      `the resume chain of ${id} forks: ${chain.fork.id} was resumed by ${chain.fork.children.join(' and ')}; export one of those with --follow-chain`,
    );
  }
  if (chain.missingParent)
    surroundings.stderr.write(`echolog: the chain starts at ${chain.ids[0]}: the session it resumed (${chain.missingParent}) is gone\n`);
  return chain.ids;
}

export async function sessionsExportCommand(options: ExportOptions, surroundings: Surroundings): Promise<number> {
  const result = await exportSession(options, surroundings);
  if (options.json) {
    surroundings.stdout.write(formatJson({ session_ids: result.ids, audio: result.audio ?? null, transcript: result.transcript ?? null }));
    return 0;
  }
  const what = result.ids.join(' → ');
  if (result.audio)
    surroundings.stdout.write(
      `audio: ${result.audio.chunks} chunks of ${what} (${result.audio.seconds.toFixed(3)} s) → ${result.audio.file}\n`,
    );
  if (result.transcript)
    surroundings.stdout.write(`transcript: ${result.transcript.utterances} utterances of ${what} → ${result.transcript.file}\n`);
  return 0;
}

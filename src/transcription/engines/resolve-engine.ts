import type { LogFields } from '../../logging/line-format.js';
import { homeDirectory } from '../../files/paths.js';
import { fileURLToPath } from 'node:url';
import type { EchologConfig } from '../../config/schema.js';
import { readLiveness } from '../../ipc/daemon-state.js';
import { checkIpcRoot } from '../../ipc/ipc-root.js';
import { ipcPathsFor, type IpcPaths } from '../../ipc/ipc-paths.js';
import { resolveBuiltScript } from '../../process/built-script.js';
import { DaemonEngine } from './daemon-engine.js';
import type { TranscriptionEngine } from './engine.js';
import { displayUrl, openAiSettings, openAiSettingsProblem } from './openai-settings.js';
import { PocketsphinxEngine } from './pocketsphinx-engine.js';
import { findPocketsphinx, POCKETSPHINX_INSTALL_HINT, streamDecoderBinary, type PocketsphinxBinary } from './pocketsphinx-command.js';

/**
 * Which engine a session uses. `auto`: a live, ready session daemon (its model is already
 * loaded), else whisper if its model is present, else pocketsphinx if
 * installed, else none (with a hint how to enable one). A named engine that is not available is
 * `missing`: the session records without it (a WARNING) unless transcription.required refuses,
 * or the engine says `refuse`: named whisper without its model (or binding) is refused before
 * recording, since the one command that fixes it is known and a session without text is no use.
 */
export type EngineResolution =
  /** `startFields`: what session_start says of the engine before it has loaded (a daemon's pid, device, model). */
  | {
      kind: 'engine';
      name: string;
      model: string;
      create: () => TranscriptionEngine;
      startFields?: LogFields;
      /**
       * Per-chunk work on a program of its own (beside the live stream decoder: the CLI), for the
       * chunks the live path misses and should the stream decoder not start. Unset: `create`.
       */
      createPerChunk?: () => TranscriptionEngine;
    }
  | { kind: 'missing'; name: string; reason: string; refuse?: boolean }
  | { kind: 'off'; reason: string; hint?: string };

/** What this module needs of whisper-engine.ts (loaded lazily). */
export interface WhisperModule {
  /** Whether whisper can run with the configured model here, and if not, why. */
  whisperAvailability(config: EchologConfig, env: NodeJS.ProcessEnv): Promise<{ available: boolean; reason?: string }>;
  createWhisperEngine(config: EchologConfig, env: NodeJS.ProcessEnv): TranscriptionEngine;
}

export interface EngineDeps {
  /** The whisper module, or undefined where it cannot load (no binding for this platform). */
  loadWhisper(): Promise<WhisperModule | undefined>;
  findPocketsphinx(env: NodeJS.ProcessEnv): PocketsphinxBinary | undefined;
  /** echolog's stream decoder (partial text), or why it cannot run here. */
  findStreamDecoder(): Promise<PocketsphinxBinary | { unavailable: string }>;
}

export const defaultEngineDeps: EngineDeps = {
  async loadWhisper() {
    try {
      // Loaded only when asked: `none` and `pocketsphinx` sessions never touch whisper's module.
      return await import('./whisper-engine.js');
    } catch {
      return undefined;
    }
  },
  findPocketsphinx: (env) => findPocketsphinx(env),
  async findStreamDecoder() {
    const { streamDecoderUnavailable } = await import('./pocketsphinx-library.js');
    const unavailable = await streamDecoderUnavailable();
    if (unavailable) return { unavailable };
    try {
      return streamDecoderBinary(
        fileURLToPath(resolveBuiltScript(import.meta.url, 'pocketsphinx-stream-decoder.js', 'the stream decoder')),
      );
    } catch (error) {
      return { unavailable: (error as Error).message };
    }
  },
};

/**
 * `live`: for a recording captured at real time whose transcript is made as it is captured
 * (transcription.live); there pocketsphinx runs as echolog's stream decoder where it can, for the
 * partial text, and per-chunk work stays with the CLI. Elsewhere (`echolog transcribe`, the
 * daemon, a file read at full speed) the CLI on PATH does it all.
 */
export interface ResolveOptions {
  live?: boolean;
}

export async function resolveEngine(
  config: EchologConfig,
  env: NodeJS.ProcessEnv,
  deps: EngineDeps = defaultEngineDeps,
  options: ResolveOptions = {},
): Promise<EngineResolution> {
  const t = config.transcription;
  const pocketsphinx = async (cli: PocketsphinxBinary): Promise<EngineResolution> => {
    // The stream decoder runs on the library 5prealpha's CLI links; beside a 5.x CLI it is not tried.
    const stream = options.live && t.live && cli.variant === 'continuous' ? await deps.findStreamDecoder() : undefined;
    // The en-us acoustic model is trained on 16 kHz mono: whatever the capture format, the engine
    // gets that (the live output and ffmpeg's decode of each chunk are made at its rate).
    const engineOn = (binary: PocketsphinxBinary) => (): PocketsphinxEngine => new PocketsphinxEngine({ binary, sampleRate: 16000, env });
    const resolution = { kind: 'engine' as const, name: 'pocketsphinx', model: 'en-us', create: engineOn(cli) };
    if (!stream) return resolution;
    if (!('variant' in stream)) return { ...resolution, startFields: { partial_text: 'off', partial_text_reason: stream.unavailable } };
    return { ...resolution, create: engineOn(stream), createPerChunk: engineOn(cli), startFields: { partial_text: 'on' } };
  };
  const whisper = async (): Promise<EngineResolution> => {
    const module = await deps.loadWhisper();
    if (!module) return { kind: 'missing', name: 'whisper', reason: 'the whisper engine is not available on this platform' };
    const availability = await module.whisperAvailability(config, env);
    if (!availability.available)
      return { kind: 'missing', name: 'whisper', reason: availability.reason ?? `whisper model ${t.model} is not available`, refuse: true };
    return { kind: 'engine', name: 'whisper', model: t.model, create: () => module.createWhisperEngine(config, env) };
  };
  const paths = daemonPaths(config, env);
  // Recording starts before the engine is ready (issue 9): the daemon is named in session_start from
  // its status file now, and its readiness handshake runs when the engine starts.
  const daemon = async (): Promise<EngineResolution> => {
    const live = await readLiveness(paths).catch(() => undefined);
    const status = live?.state === 'ready' ? live.status : undefined;
    return {
      kind: 'engine',
      name: 'daemon',
      model: status?.model_size ?? '',
      create: () => new DaemonEngine({ paths, timeoutSeconds: t.daemon_timeout, readyTimeoutSeconds: t.ready_timeout }),
      startFields: status
        ? { daemon_pid: status.pid, daemon_device: status.device, daemon_model: status.model_size, daemon_root: paths.root }
        : { daemon_root: paths.root },
    };
  };
  switch (t.engine) {
    case 'openai':
      return openAi(config, env);
    case 'daemon':
      return daemon();
    case 'none':
      return { kind: 'off', reason: 'transcription.engine is none' };
    case 'whisper':
      return whisper();
    case 'pocketsphinx': {
      const binary = deps.findPocketsphinx(env);
      return binary
        ? pocketsphinx(binary)
        : {
            kind: 'missing',
            name: 'pocketsphinx',
            reason: `pocketsphinx is not installed (no pocketsphinx_continuous or pocketsphinx on PATH); ${POCKETSPHINX_INSTALL_HINT}`,
          };
    }
    case 'auto': {
      if (await isDaemonReady(paths)) return daemon();
      const w = await whisper();
      if (w.kind === 'engine') return w;
      const binary = deps.findPocketsphinx(env);
      if (binary) return pocketsphinx(binary);
      return {
        kind: 'off',
        reason: 'no transcription engine: no whisper model and no pocketsphinx',
        hint: 'to transcribe, run `echolog models pull tiny.en` (whisper) or `apt-get install pocketsphinx pocketsphinx-en-us` (pocketsphinx)',
      };
    }
  }
}

/** Engine `openai`: its module is loaded only here, so other engines and `status` never load it. */
async function openAi(config: EchologConfig, env: NodeJS.ProcessEnv): Promise<EngineResolution> {
  const settings = openAiSettings(config, env);
  const problem = openAiSettingsProblem(settings, env);
  if (problem) return { kind: 'missing', name: 'openai', reason: problem };
  const { createOpenAiEngine } = await import('./openai-engine.js');
  return {
    kind: 'engine',
    name: 'openai',
    model: settings.model,
    create: () => createOpenAiEngine(config, env),
    startFields: { openai_url: displayUrl(settings.baseUrl), openai_concurrency: settings.concurrency },
  };
}

/** The IPC root of the session daemon this config talks to. */
export function daemonPaths(config: EchologConfig, env: NodeJS.ProcessEnv): IpcPaths {
  return ipcPathsFor(config.transcription.daemon_ipc_root, { env, home: homeDirectory(env), cwd: process.cwd() });
}

/** A ready daemon on a root we trust; an untrusted root is not used silently by `auto`. */
async function isDaemonReady(paths: IpcPaths): Promise<boolean> {
  try {
    if ((await checkIpcRoot(paths, false)) === 'missing') return false;
    return (await readLiveness(paths)).state === 'ready';
  } catch {
    return false;
  }
}

import { z } from 'zod';
import { ENGINES, LOG_LEVELS, LOG_ROTATIONS, TIME_WHENS } from './choices.js';

export { ENGINES, LOG_LEVELS, LOG_ROTATIONS, TIME_WHENS, type LogLevel, type TimeWhen } from './choices.js';

const positiveSeconds = z.number().positive();

/**
 * Every key of echolog.conf, with its default. This is the single source of truth:
 * validation, `echolog config`, and echolog.conf.example are all checked against it.
 */
export const configSchema = z
  .object({
    recordings_dir: z.string().min(1).default('~/recordings'),
    ffmpeg: z
      .object({
        /** Absolute path of the ffmpeg binary; empty means: ffmpeg on PATH, else ffmpeg-static. */
        path: z.string().default(''),
        stop_timeout: positiveSeconds.max(60).default(5),
      })
      .strict()
      .prefault({}),
    recording: z
      .object({
        input_format: z.string().default(''),
        input: z.string().default(''),
        segment_time: positiveSeconds.max(86400).default(10),
        sample_rate: z.number().int().min(8000).max(192000).default(16000),
        channels: z.number().int().min(1).max(8).default(1),
        realtime: z.boolean().default(true),
        /** Restarts of a crashed ffmpeg per session before it is given up (systemd's StartLimitBurst). */
        max_restarts: z.number().int().min(0).max(100).default(5),
        /** Seconds a lost capture device gets to come back before the session stops with device_lost. */
        reconnect_timeout: z.number().min(0).max(86400).default(60),
        /** Seconds of digital silence (or near it) before a warning that the input is silent; 0 turns it off. */
        silence_alarm: z.number().min(0).max(86400).default(15),
        /** Free space (MiB) the recordings dir must keep: refuse below it, warn at 4×, stop at it; 0 turns it off. */
        min_free_mb: z.number().int().min(0).max(1048576).default(200),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(LOG_LEVELS).default('info'),
        rotation: z.enum(LOG_ROTATIONS).default('size'),
        max_bytes: z.number().int().min(1024).default(5242880),
        backup_count: z.number().int().min(0).max(1000).default(3),
        time_when: z.enum(TIME_WHENS).default('midnight'),
        utc: z.boolean().default(true),
        redact_device: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    transcription: z
      .object({
        engine: z.enum(ENGINES).default('auto'),
        model: z.string().default('tiny.en'),
        language: z.string().default('en'),
        ready_timeout: positiveSeconds.max(600).default(5),
        drain_timeout: z.number().min(0).max(3600).default(30),
        required: z.boolean().default(false),
        live: z.boolean().default(true),
        silence_threshold_db: z.number().max(0).default(-50),
        max_retries: z.number().int().min(0).max(10).default(3),
        /** Seconds a client waits for the session daemon's response to one chunk (engine `daemon`). */
        daemon_timeout: positiveSeconds.max(3600).default(30),
        /** The session daemon's IPC root; empty: $XDG_RUNTIME_DIR/echolog, else ~/.cache/echolog/run. */
        daemon_ipc_root: z.string().default(''),
        /** Engine `openai`: any server of `POST /v1/audio/transcriptions`. The key is read from the environment only. */
        openai: z
          .object({
            /** Empty: $OPENAI_BASE_URL, else https://api.openai.com/v1 (checked as a URL where the engine is chosen). */
            base_url: z.string().default(''),
            model: z.string().min(1).default('whisper-1'),
            /** The name of the variable that holds the key (never the key itself). */
            api_key_env: z.string().default('OPENAI_API_KEY'),
            concurrency: z.number().int().min(1).max(16).default(2),
            /** Seconds one request may take before it is a failed attempt. */
            timeout: positiveSeconds.max(3600).default(60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type EchologConfig = z.output<typeof configSchema>;

export const DEFAULT_CONFIG: EchologConfig = configSchema.parse({});

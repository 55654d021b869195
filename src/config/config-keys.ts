/**
 * Every key of echolog.conf, dotted, as plain data: what the quick commands (status, sessions) check a
 * config file against without loading the zod schema (start-up time). test/front-door.test.ts keeps it
 * equal to the schema's keys (src/config/schema.ts stays the single source of truth).
 */
export const CONFIG_KEYS: readonly string[] = [
  'recordings_dir',
  'ffmpeg.path',
  'ffmpeg.stop_timeout',
  'recording.input_format',
  'recording.input',
  'recording.segment_time',
  'recording.sample_rate',
  'recording.channels',
  'recording.realtime',
  'recording.max_restarts',
  'recording.reconnect_timeout',
  'recording.silence_alarm',
  'recording.min_free_mb',
  'logging.level',
  'logging.rotation',
  'logging.max_bytes',
  'logging.backup_count',
  'logging.time_when',
  'logging.utc',
  'logging.redact_device',
  'transcription.engine',
  'transcription.model',
  'transcription.language',
  'transcription.ready_timeout',
  'transcription.drain_timeout',
  'transcription.required',
  'transcription.live',
  'transcription.silence_threshold_db',
  'transcription.max_retries',
  'transcription.daemon_timeout',
  'transcription.daemon_ipc_root',
  'transcription.openai.base_url',
  'transcription.openai.model',
  'transcription.openai.api_key_env',
  'transcription.openai.concurrency',
  'transcription.openai.timeout',
];

/** The dotted keys of `values` (a config file's) that are no key of echolog.conf, nor a section of one. Pure. */
export function unknownConfigKeys(dottedKeys: readonly string[]): string[] {
  const known = new Set(CONFIG_KEYS);
  return dottedKeys.filter((key) => !known.has(key) && !CONFIG_KEYS.some((k) => k.startsWith(`${key}.`)));
}

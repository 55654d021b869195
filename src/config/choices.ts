/**
 * The allowed values of echolog.conf's enumerated keys. Kept apart from the zod schema so that
 * modules that only need a list (a manifest check, `status`) do not load zod.
 */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export const LOG_ROTATIONS = ['size', 'time', 'off'] as const;
export const TIME_WHENS = ['S', 'M', 'H', 'D', 'midnight', 'W0', 'W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
export const ENGINES = ['auto', 'pocketsphinx', 'whisper', 'daemon', 'openai', 'none'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type TimeWhen = (typeof TIME_WHENS)[number];

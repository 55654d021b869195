import type { Logger } from '../../src/logging/session-log.js';

/** A Logger that keeps what it is told, for tests of code that logs (a stand-in for session.log's writer). */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warning: at('warning'), error: at('error') };
}

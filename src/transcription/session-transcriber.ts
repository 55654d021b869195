import type { EchologConfig } from '../config/schema.js';
import type { SessionComponent } from '../sessions/session-component.js';

/** The transcription part of a recording session (issue 4 fills this in). */
export function createTranscriptionComponents(_config: EchologConfig, _env: NodeJS.ProcessEnv): SessionComponent[] {
  return [];
}

/**
 * The silent-input alarm: after `alarmSeconds` of chunks at digital silence or near it, one alarm
 * per silent stretch (a muted microphone, the wrong device); a chunk with sound ends the stretch.
 * Pure: fed each chunk's level and length in order.
 */
/** Near digital silence: a muted microphone reads -inf, a quiet room -60 to -45 dBFS. */
export const SILENT_INPUT_DB = -65;

export type SilenceEvent = { kind: 'silent'; seconds: number } | { kind: 'sound_returned'; silentSeconds: number } | undefined;

export class SilenceAlarm {
  private silentSeconds = 0;
  private alarmed = false;

  constructor(private readonly alarmSeconds: number) {}

  observe(levelDb: number, durationSeconds: number): SilenceEvent {
    if (this.alarmSeconds <= 0) return undefined;
    if (levelDb >= SILENT_INPUT_DB) {
      const was = this.silentSeconds;
      const alarmed = this.alarmed;
      this.silentSeconds = 0;
      this.alarmed = false;
      return alarmed ? { kind: 'sound_returned', silentSeconds: was } : undefined;
    }
    this.silentSeconds += durationSeconds;
    if (this.alarmed || this.silentSeconds < this.alarmSeconds) return undefined;
    this.alarmed = true;
    return { kind: 'silent', seconds: this.silentSeconds };
  }
}

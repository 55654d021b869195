import type { DeviceSection } from '../capture/capture-devices.js';
import type { CaptureStatus } from '../store/session-manifest.js';

/**
 * What every `--json` prints: snake_case keys and numbers as JSON numbers, two-space indented, one
 * document on stdout. Pure conversions of the few internal shapes that differ.
 */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * A level as session.json and the log write it (`-23.1`, `-inf` for digital silence) as a number;
 * null when there is none yet or for digital silence, which JSON cannot hold.
 */
export function levelNumber(level: string | null): number | null {
  const value = level === null ? NaN : Number(level);
  return Number.isFinite(value) ? value : null;
}

/** A manifest-like object (session.json's shape) with its capture level as a number. */
export function manifestJson<T extends { capture?: CaptureStatus }>(manifest: T): Record<string, unknown> {
  const { capture } = manifest;
  return capture === undefined ? manifest : { ...manifest, capture: { ...capture, last_level_db: levelNumber(capture.last_level_db) } };
}

/** `devices --json`: the sections with snake_case device keys. */
export function devicesJson(sections: readonly DeviceSection[]): unknown {
  return sections.map(({ devices, ...section }) => ({
    ...section,
    devices: devices.map(({ isDefault, ...device }) => ({ ...device, is_default: isDefault })),
  }));
}

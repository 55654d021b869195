import { createHash } from 'node:crypto';

/** A stable stand-in for a device name (logging.redact_device): same device, same hash. */
export function redactDevice(device: string): string {
  return `device-${createHash('sha256').update(device).digest('hex').slice(0, 12)}`;
}

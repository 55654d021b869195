/** Bytes in a mebibyte: sizes are said in MiB everywhere (free space, models, limits). */
export const MIB = 1024 * 1024;

/** `12.3 MiB` */
export function formatMib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** Seconds rounded to the millisecond, as transcript times are written. */
export function roundToMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

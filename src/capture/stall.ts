/**
 * Whether capture has stalled: no new chunk for `segment_time × 2 + 5 s` is a stall (warned once);
 * twice that, the ffmpeg run is treated as dead and restarted. Pure.
 */
export type StallLevel = 'ok' | 'stalled' | 'dead';

export function stallAfterMs(segmentTimeSeconds: number): number {
  return (segmentTimeSeconds * 2 + 5) * 1000;
}

export function stallLevel(lastProgressMs: number, nowMs: number, segmentTimeSeconds: number): StallLevel {
  const quiet = nowMs - lastProgressMs;
  const after = stallAfterMs(segmentTimeSeconds);
  if (quiet >= 2 * after) return 'dead';
  return quiet >= after ? 'stalled' : 'ok';
}

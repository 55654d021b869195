/** Small formatters shared by commands; no imports, so any command may load it for free. */

/** `00:01:05` from milliseconds (floored to whole seconds, never negative). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

/** `1 chunk`, `2 chunks`, `0 utterances`. */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/**
 * A partial hypothesis as one line under the spinner, `  words so far` within `columns`, the last
 * column left free: the newest words are the ones worth seeing, so a long one keeps its end. One
 * line, so it flickers less and a narrower terminal after a resize has less to re-wrap. Control
 * characters are dropped (it goes to a terminal). The decoder's words are its dictionary's, one
 * column per character.
 */
export function formatPartialScreenLine(text: string, columns: number): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '');
  const room = Math.max(1, columns - 3);
  const shown = clean.length > room ? `…${clean.slice(-(room - 1))}` : clean;
  return `  ${shown}`;
}

import { findOnPath } from '../../process/find-executable.js';

/**
 * Which pocketsphinx CLI is installed, and its argv.
 * - `continuous`: Debian/Ubuntu's `pocketsphinx_continuous` (0.8+5prealpha). It prints each
 *   utterance as a text line and, with `-time yes`, one `word start end confidence` line per
 *   word, times in seconds from the start of the stream.
 * - `v5`: the 5.x `pocketsphinx` CLI, whose `live` mode prints one JSON object per utterance
 *   ({b, d, p, t, w: [{b, d, p, t}]}; see `man pocketsphinx`).
 * - `stream`: echolog's own decoder (pocketsphinx-stream-decoder.ts, run by Node) on the library
 *   `continuous` uses: the same utterances, plus the partial hypothesis while one is spoken.
 *   Chosen for live transcription where it can load (see pocketsphinx-library.ts).
 * All read the audio from a FIFO that echolog writes raw 16-bit mono PCM into: a path, because
 * 5prealpha's `-infile /dev/stdin` re-opens its stdin, which fails when Node gives a child a
 * socket rather than a pipe (ENXIO), and opening the FIFO doubles as the readiness signal.
 */
export type PocketsphinxVariant = 'continuous' | 'v5' | 'stream';

export interface PocketsphinxBinary {
  variant: PocketsphinxVariant;
  /** The program run: the CLI, or Node for `stream`. */
  path: string;
  /** `stream`: the decoder's script, Node's first argument. */
  script?: string;
}

/** The stream decoder, run by this very Node. */
export function streamDecoderBinary(script: string): PocketsphinxBinary {
  return { variant: 'stream', path: process.execPath, script };
}

export const POCKETSPHINX_BINARIES: ReadonlyArray<{ name: string; variant: PocketsphinxVariant }> = [
  { name: 'pocketsphinx_continuous', variant: 'continuous' },
  { name: 'pocketsphinx', variant: 'v5' },
];

export const POCKETSPHINX_INSTALL_HINT =
  'install it with `apt-get install pocketsphinx pocketsphinx-en-us` (or `brew install cmu-pocketsphinx`)';

/** The first pocketsphinx CLI on PATH (5prealpha's first: it is what Debian 12 ships). */
export function findPocketsphinx(env: NodeJS.ProcessEnv, check?: (file: string) => boolean): PocketsphinxBinary | undefined {
  for (const { name, variant } of POCKETSPHINX_BINARIES) {
    const file = findOnPath(name, env, check);
    if (file) return { variant, path: file };
  }
  return undefined;
}

export interface PocketsphinxArgsOptions {
  /** The FIFO the audio comes through. */
  input: string;
  sampleRate: number;
  /** Acoustic model dir (`-hmm`); empty: the CLI's built-in default (en-us). */
  hmm?: string;
}

export function buildPocketsphinxArgs({ variant, script }: PocketsphinxBinary, options: PocketsphinxArgsOptions): string[] {
  const model = options.hmm ? ['-hmm', options.hmm] : [];
  if (variant === 'stream') {
    return [script ?? '', '-infile', options.input, '-samprate', String(options.sampleRate), ...model];
  }
  if (variant === 'continuous') {
    return ['-infile', options.input, '-time', 'yes', '-samprate', String(options.sampleRate), ...model];
  }
  return ['-samprate', String(options.sampleRate), ...model, 'live', options.input];
}

/**
 * libpocketsphinx 5prealpha (`libpocketsphinx.so.3`, what Debian and Ubuntu's `pocketsphinx`
 * package links) called through koffi, a foreign-function library: the calls
 * `pocketsphinx_continuous` makes, plus the one it never makes mid-utterance, `ps_get_hyp`,
 * which is the partial hypothesis. koffi is an optional peer: without it (or without the
 * library) echolog runs the CLI and shows no partial text.
 *
 * Only the stream decoder's own process calls into the library (a frozen or crashed decoder must
 * never take echolog with it). echolog itself only loads both to tell whether the decoder can run
 * (streamDecoderUnavailable), which runs no decoder code: loading them runs only what any program
 * linked to them runs at start.
 */
export const POCKETSPHINX_LIBRARIES = { sphinxbase: 'libsphinxbase.so.3', pocketsphinx: 'libpocketsphinx.so.3' } as const;
/** glibc, for strdup: the libraries are glibc builds, so it is there wherever they are. */
const LIBC = 'libc.so.6';

/** Opaque C pointers (cmd_ln_t *, ps_decoder_t *, ps_seg_t *). */
type Pointer = object;

export interface PocketsphinxLibrary {
  /** `cmd_ln_parse_r(NULL, ps_args(), argv, strict)` then `ps_default_search_args`: null on bad arguments. */
  parseConfig(argv: readonly string[]): Pointer | null;
  configInt(config: Pointer, name: string): number;
  /** For float options (`-samprate`): cmd_ln_int_r would read their bits as an integer. */
  configFloat(config: Pointer, name: string): number;
  init(config: Pointer): Pointer | null;
  startUtterance(decoder: Pointer): number;
  endUtterance(decoder: Pointer): number;
  /** Decodes `samples` (s16 mono at the configured rate) in the current utterance. */
  processRaw(decoder: Pointer, samples: Int16Array): number;
  inSpeech(decoder: Pointer): boolean;
  /** The best hypothesis so far (partial mid-utterance, final after endUtterance); null: none. */
  hypothesis(decoder: Pointer): string | null;
  /** The words of the last utterance with their frames (fillers included, as the CLI prints them). */
  segments(decoder: Pointer): Array<{ word: string; startFrame: number; endFrame: number }>;
}

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
}

export async function loadKoffi(): Promise<Koffi> {
  const module = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
  return module.default ?? module;
}

/** Loads both libraries (throws with the loader's reason) and binds the calls the decoder makes. */
export async function loadPocketsphinxLibrary(): Promise<PocketsphinxLibrary> {
  const koffi = await loadKoffi();
  const sb = koffi.load(POCKETSPHINX_LIBRARIES.sphinxbase);
  const ps = koffi.load(POCKETSPHINX_LIBRARIES.pocketsphinx);
  const strdup = koffi.load(LIBC).func('void *strdup(const char *s)');
  const cmdLnParse = sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int argc, void **argv, int strict)');
  const cmdLnInt = sb.func('long cmd_ln_int_r(void *cmdln, const char *name)');
  const cmdLnFloat = sb.func('double cmd_ln_float_r(void *cmdln, const char *name)');
  const psArgs = ps.func('void *ps_args()');
  const defaultSearchArgs = ps.func('void ps_default_search_args(void *config)');
  const init = ps.func('void *ps_init(void *config)');
  const startUtt = ps.func('int ps_start_utt(void *ps)');
  const endUtt = ps.func('int ps_end_utt(void *ps)');
  const processRaw = ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)');
  const getInSpeech = ps.func('uint8_t ps_get_in_speech(void *ps)');
  const getHyp = ps.func('const char *ps_get_hyp(void *ps, _Out_ int32_t *score)');
  const segIter = ps.func('void *ps_seg_iter(void *ps)');
  const segNext = ps.func('void *ps_seg_next(void *seg)');
  const segWord = ps.func('const char *ps_seg_word(void *seg)');
  const segFrames = ps.func('void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)');
  return {
    parseConfig(argv) {
      // cmd_ln.h: the argv strings must outlive the config (its table keeps pointers into them),
      // and koffi's copies of JS strings last one call: C copies, kept for the decoder's life.
      const kept = argv.map((arg) => strdup(arg));
      const config = cmdLnParse(null, psArgs(), kept.length, kept, 1) as Pointer | null;
      if (config) defaultSearchArgs(config);
      return config;
    },
    configInt: (config, name) => Number(cmdLnInt(config, name)),
    configFloat: (config, name) => Number(cmdLnFloat(config, name)),
    init: (config) => init(config) as Pointer | null,
    startUtterance: (decoder) => startUtt(decoder) as number,
    endUtterance: (decoder) => endUtt(decoder) as number,
    processRaw: (decoder, samples) => processRaw(decoder, samples, samples.length, 0, 0) as number,
    inSpeech: (decoder) => (getInSpeech(decoder) as number) !== 0,
    hypothesis: (decoder) => getHyp(decoder, null) as string | null,
    segments(decoder) {
      const words: Array<{ word: string; startFrame: number; endFrame: number }> = [];
      // ps_seg_next frees the iterator when it returns NULL: walk it to the end.
      for (let seg = segIter(decoder) as Pointer | null; seg; seg = segNext(seg) as Pointer | null) {
        const start = [0];
        const end = [0];
        segFrames(seg, start, end);
        words.push({ word: segWord(seg) as string, startFrame: start[0]!, endFrame: end[0]! });
      }
      return words;
    },
  };
}

/** Whether the stream decoder can run here: undefined if so, else why not (for `doctor` and the fallback). */
export async function streamDecoderUnavailable(): Promise<string | undefined> {
  let koffi: Koffi;
  try {
    koffi = await loadKoffi();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      return 'koffi is not installed (`npm i -g koffi` beside a global echolog, or `npm i koffi` in a clone)';
    }
    return `koffi does not load (${(error as Error).message.split('\n')[0]})`;
  }
  for (const name of Object.values(POCKETSPHINX_LIBRARIES)) {
    try {
      koffi.load(name);
    } catch (error) {
      return `${name} does not load (${(error as Error).message.split('\n')[0]})`;
    }
  }
  return undefined;
}

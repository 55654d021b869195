import fs from 'node:fs';
import { loadPocketsphinxLibrary } from './pocketsphinx-library.js';
import { formatIdleLine } from './pocketsphinx-output.js';
import { formatPartialJsonLine, formatUtteranceLine, UtteranceSplitter } from './stream-decoder-output.js';

/**
 * echolog's streaming decoder, a program of its own (`node pocketsphinx-stream-decoder.js -infile
 * FIFO [pocketsphinx options]`): pocketsphinx_continuous's `-infile` loop on the same library,
 * with the same 2048-sample blocks and the same utterance rule, so its utterances are the CLI's
 * word for word; it also prints the partial hypothesis while an utterance is under way, and
 * between utterances how far everything is final (idle marks), which the CLI cannot. It runs in its
 * own process so that a decoder that hangs, is stopped or crashes never touches the recording.
 *
 * Like the CLI it loads the model first and opens the FIFO after (the writer's open succeeding
 * is echolog's readiness signal), reads blocking, and ends at EOF with what it holds.
 */
const BLOCK_SAMPLES = 2048;

function fail(message: string, code = 1): never {
  fs.writeSync(2, `pocketsphinx-stream-decoder: ${message}\n`);
  process.exit(code);
}

/** A whole line to stdout, waiting out EAGAIN should the pipe be non-blocking and full. */
function printLine(line: string): void {
  let data = Buffer.from(`${line}\n`);
  while (data.length > 0) {
    try {
      data = data.subarray(fs.writeSync(1, data));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Fills `block` like fread(3): short only at end of input. */
function readBlock(fd: number, block: Buffer): number {
  let filled = 0;
  while (filled < block.length) {
    const n = fs.readSync(fd, block, filled, block.length - filled, null);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('-infile');
  const input = at >= 0 ? argv[at + 1] : undefined;
  if (!input) fail('usage: pocketsphinx-stream-decoder -infile FILE [pocketsphinx options]', 2);
  const options = argv.filter((_, i) => i !== at && i !== at + 1);

  const library = await loadPocketsphinxLibrary().catch((error: Error) => fail(error.message));
  const config = library.parseConfig(options) ?? fail(`bad pocketsphinx options: ${options.join(' ')}`, 2);
  const decoder = library.init(config) ?? fail('the decoder did not initialise (see the lines above for the model it could not load)');
  const frameRate = library.configInt(config, '-frate');

  let fd: number;
  try {
    fd = fs.openSync(input, 'r');
  } catch (error) {
    fail(`cannot open ${input}: ${(error as Error).message}`);
  }
  const block = Buffer.alloc(BLOCK_SAMPLES * 2);
  const sampleRate = library.configFloat(config, '-samprate');
  const lookback = (library.configInt(config, '-vad_prespeech') + library.configInt(config, '-vad_startspeech')) / frameRate;
  const splitter = new UtteranceSplitter(250, lookback);
  let samplesRead = 0;
  const printUtterance = (): void => {
    const hypothesis = library.hypothesis(decoder);
    if (hypothesis) printLine(formatUtteranceLine(hypothesis, library.segments(decoder), frameRate));
  };
  library.startUtterance(decoder);
  for (;;) {
    const bytes = readBlock(fd, block);
    if (bytes < 2) break;
    library.processRaw(decoder, new Int16Array(block.buffer, block.byteOffset, bytes >> 1));
    samplesRead += bytes >> 1;
    const state = splitter.afterBlock(library.inSpeech(decoder));
    const now = performance.now();
    if (state === 'speech' && splitter.partialDue(now)) {
      const partial = splitter.partial(library.hypothesis(decoder), now);
      if (partial !== undefined) printLine(formatPartialJsonLine(partial));
    } else if (state === 'end') {
      library.endUtterance(decoder);
      printLine(formatPartialJsonLine(''));
      printUtterance();
      library.startUtterance(decoder);
    } else {
      const mark = splitter.idleMark(samplesRead / sampleRate);
      if (mark !== undefined) printLine(formatIdleLine(mark));
    }
    if (bytes < block.length) break;
  }
  library.endUtterance(decoder);
  if (splitter.speaking) {
    printLine(formatPartialJsonLine(''));
    printUtterance();
  }
}

main(process.argv.slice(2)).catch((error: Error) => fail(error.stack ?? error.message));

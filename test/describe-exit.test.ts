import { describe, expect, it } from 'vitest';
import { describeExit, failureTail, howExited, MAX_TAIL_LINES } from '../src/process/describe-exit.js';
import { FfmpegExitError } from '../src/recorder/ffmpeg-exit-error.js';
import { FFMPEG_EXIT_MEANINGS, FFMPEG_FAILURE_LINES } from '../src/recorder/ffmpeg-stderr.js';

describe('describeExit: every child failure in the same words', () => {
  it('says the code, what a shell code means, or the signal — never "exited with code SIGKILL"', () => {
    expect(howExited({ code: 1, signal: null })).toBe('exited with code 1');
    expect(howExited({ code: null, signal: 'SIGKILL' })).toBe('was killed by SIGKILL');
    expect(howExited({ code: 127, signal: null })).toBe('exited with code 127 (as a shell says: command not found)');
    expect(howExited({ code: 126, signal: null })).toBe('exited with code 126 (as a shell says: found but not executable)');
    expect(howExited({ code: 137, signal: null })).toBe('exited with code 137 (as a shell says 128 + 9: killed by SIGKILL)');
    // A program's own meanings come first: ffmpeg's 255 is a signal it caught.
    expect(howExited({ code: 255, signal: null }, FFMPEG_EXIT_MEANINGS)).toBe('exited with code 255 (stopped by a signal it caught)');
  });

  it('quotes the failure lines of an engine, else its last lines, on one line', () => {
    const tail = ['INFO: x', 'ERROR: "acmod.c", line 79: Folder does not contain acoustic model definition', 'INFO: y'];
    expect(describeExit('/usr/bin/pocketsphinx_continuous', { code: 1, signal: null }, tail, { maxLines: 3 })).toBe(
      'pocketsphinx_continuous exited with code 1: ERROR: "acmod.c", line 79: Folder does not contain acoustic model definition',
    );
    expect(describeExit('/x/ps', { code: null, signal: 'SIGKILL' }, [])).toBe('ps was killed by SIGKILL');
    expect(describeExit('/x/decoder', { code: 2, signal: null }, ['reading a.raw', 'half a line', ''])).toBe(
      'decoder exited with code 2: reading a.raw | half a line',
    );
    // Blank lines (a trailing newline split) are never quoted.
    expect(describeExit('/usr/bin/ffmpeg -version', { code: 3, signal: null }, [''])).toBe('ffmpeg -version exited with code 3');
  });

  it('never quotes more than 20 lines, the newest kept', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `error ${i}`);
    expect(failureTail(lines)).toHaveLength(MAX_TAIL_LINES);
    expect(failureTail(lines).at(-1)).toBe('error 49');
    expect(failureTail(lines, { maxLines: 500 })).toHaveLength(MAX_TAIL_LINES);
  });

  it("ffmpeg's failures are told by its error lines only: a warning explains nothing about a kill", () => {
    const lines = [
      '[info] Press [q] to stop',
      '[warning] Guessed Channel Layout for Input Stream #0.0 : mono',
      '[error] default: Connection refused',
    ];
    expect(failureTail(lines, FFMPEG_FAILURE_LINES)).toEqual(['[error] default: Connection refused']);
    expect(failureTail(lines.slice(0, 2), FFMPEG_FAILURE_LINES)).toEqual([]);
    expect(describeExit('/usr/bin/ffmpeg', { code: 1, signal: null }, lines, { ...FFMPEG_FAILURE_LINES, layout: 'block' })).toBe(
      'ffmpeg exited with code 1:\n  [error] default: Connection refused',
    );
    expect(
      describeExit('/usr/bin/ffmpeg', { code: 1, signal: null }, lines.slice(0, 2), { ...FFMPEG_FAILURE_LINES, layout: 'block' }),
    ).toBe('ffmpeg exited with code 1 (no error output)');
  });

  it('FfmpegExitError says restarts, no audio and the hint in the same words', () => {
    expect(new FfmpegExitError(1, null, ['[error] cannot open'], 2).message).toBe(
      'ffmpeg exited with code 1 (gave up after 2 restarts):\n  [error] cannot open',
    );
    expect(new FfmpegExitError(0, null, [], 0, true, 'check the device').message).toBe(
      'ffmpeg exited with code 0 without producing any audio (no error output)\nhint: check the device',
    );
    expect(new FfmpegExitError(null, 'SIGKILL', []).message).toBe('ffmpeg was killed by SIGKILL (no error output)');
  });
});

import { parseLevelReportLine } from '../src/recorder/ffmpeg-level-report.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import shellQuote from 'shell-quote';
import { afterAll, describe, expect, it } from 'vitest';
import { redactDevice } from '../src/logging/redact.js';
import { classifyStderrLine, type StderrLevel } from '../src/recorder/ffmpeg-stderr.js';
import { execFileAsync, makeSandbox, onlySessionDir, readSessionLog, runCli, SINE } from './helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/ffmpeg-stderr/', import.meta.url));

/**
 * For each captured stderr (see fixtures/ffmpeg-stderr/capture.sh): the lines that must be WARNING
 * or ERROR, by a piece of their text. Every other line of the capture must be DEBUG.
 */
const EXPECTED: Record<string, Array<[string, StderrLevel]>> = {
  'alsa-no-device.txt': [
    ['ALSA lib confmisc.c', 'warning'],
    ['cannot open audio device hw:9 (No such file or directory)', 'error'],
    ['hw:9: Input/output error', 'error'],
  ],
  'pulse-no-server.txt': [['default: No such process', 'error']],
  'missing-file.txt': [['/nonexistent/speech.wav: No such file or directory', 'error']],
  // Random bytes: what ffmpeg makes of them differs per capture; it tags every complaint itself.
  'invalid-data.txt': [
    ['Format mp3 detected only with low score', 'warning'],
    ['Failed to read frame size', 'error'],
    ['junk.wav: Invalid argument', 'error'],
  ],
  'no-space.txt': [
    ['Error writing trailer of /dev/full: No space left on device', 'error'],
    ['Error closing file /dev/full: No space left on device', 'error'],
  ],
  'invalid-argument.txt': [
    ["Undefined constant or missing '(' in 'abc'", 'error'],
    ['Unable to parse option value "abc"', 'error'],
    ['Error setting option frequency to value abc.', 'error'],
    ['Error applying options to the filter.', 'error'],
    ["Error initializing filter 'sine' with args 'frequency=abc'", 'error'],
    ['sine=frequency=abc: Invalid argument', 'error'],
  ],
  'unknown-format.txt': [["Unknown input format: 'nosuchfmt'", 'error']],
  // `Guessed Channel Layout` is known-benign (ffmpeg-stderr.ts): DEBUG though ffmpeg tags it warning.
  'misplaced-option.txt': [
    ['Option itsoffset (set the input ts offset) cannot be applied to output url', 'error'],
    ['Error parsing options for output file out.mkv.', 'error'],
    ['Error opening output files: Invalid argument', 'error'],
  ],
  // ffmpeg tags `overread, skip` as info (DEBUG here), `big_values too big` and `Header missing` as errors.
  'corrupt-input.txt': [
    ['big_values too big', 'error'],
    ['Header missing', 'error'],
    ['Error while decoding MPEG audio frame.', 'error'],
    ['Error while decoding stream #0:0: Invalid data found when processing input', 'error'],
  ],
  'non-monotonic.txt': [['Non-monotonous DTS in output stream 0:0; previous: 18432, current: -29520', 'warning']],
  'permission-denied.txt': [
    ["Failed to open segment 'ro/chunk_00000.wav'", 'error'],
    ['Could not write header for output file #0 (incorrect codec parameters ?): Permission denied', 'error'],
    ['Error initializing output stream 0:0 --', 'error'],
    // `Conversion failed!` is tagged info by ffmpeg 5.1: DEBUG, after the errors that say why.
  ],
  'no-such-filter.txt': [
    ["No such filter: 'volumee'", 'error'],
    ['sine=frequency=440,volumee=2: Invalid argument', 'error'],
  ],
  'wav-input.txt': [],
  'healthy-capture.txt': [],
};

function fixtureLines(name: string): string[] {
  return fs
    .readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

function expectedLevel(line: string, expectations: Array<[string, StderrLevel]>): StderrLevel {
  return expectations.find(([text]) => line.includes(text))?.[1] ?? 'debug';
}

describe('ffmpeg stderr classification on captured ffmpeg output', () => {
  it('covers every captured fixture', () => {
    expect(
      fs
        .readdirSync(FIXTURES)
        .filter((f) => f.endsWith('.txt'))
        .sort(),
    ).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [fixture, expectations] of Object.entries(EXPECTED)) {
    it(`${fixture}: problems are WARNING/ERROR, banner and stream lines DEBUG`, () => {
      const lines = fixtureLines(fixture);
      expect(lines.length).toBeGreaterThan(0);
      const actual = lines.map((line) => `${classifyStderrLine(line)}\t${line}`);
      const wanted = lines.map((line) => `${expectedLevel(line, expectations)}\t${line}`);
      expect(actual).toEqual(wanted);
      for (const [text] of expectations)
        expect(
          lines.some((line) => line.includes(text)),
          text,
        ).toBe(true);
    });
  }

  it("ffmpeg's severity tag decides, after up to two contexts; untagged lines fall back to the patterns", () => {
    expect(classifyStderrLine("[lavfi @ 0x55fda0203900] [error] No such filter: 'volumee'")).toBe('error');
    expect(classifyStderrLine("[sine @ 0x55] [Eval @ 0x7ffc] [error] Undefined constant or missing '(' in 'abc'")).toBe('error');
    expect(classifyStderrLine("[fatal] Unknown input format: 'nosuchfmt'")).toBe('error');
    expect(classifyStderrLine('[warning] Non-monotonous DTS in output stream 0:0; previous: 18432, current: -29520')).toBe('warning');
    // Known-benign, though tagged warning: a WAV without a channel mask, an MP3's estimated length.
    expect(classifyStderrLine('[warning] Guessed Channel Layout for Input Stream #0.0 : mono')).toBe('debug');
    expect(classifyStderrLine('[mp3 @ 0x55] [warning] Estimating duration from bitrate, this may be inaccurate')).toBe('debug');
    // Tagged info, though the words would match an error pattern: ffmpeg's own judgement wins.
    expect(classifyStderrLine('[info] Conversion failed!')).toBe('debug');
    expect(classifyStderrLine('[segment @ 0x55] [verbose] Error while nothing')).toBe('debug');
    expect(classifyStderrLine('ALSA lib confmisc.c:165:(snd_config_get_card) Cannot get card index for 9')).toBe('warning');
    expect(classifyStderrLine('Conversion failed!')).toBe('error');
  });

  it('keeps indented stream/metadata dumps at DEBUG whatever they say', () => {
    expect(classifyStderrLine('    title           : Error while late: No space left on device')).toBe('debug');
    expect(classifyStderrLine('    Last message repeated 1 times')).toBe('debug');
  });

  it('ignores quoted file names: a recordings dir called warning-or-error does not make lines problems', () => {
    expect(classifyStderrLine("[segment @ 0x55] Opening '/home/me/error-warning-late/s1/chunk_00001.wav' for writing")).toBe('debug');
    expect(classifyStderrLine("Output #0, segment, to '/home/me/Invalid failed/chunk_%05d.wav':")).toBe('debug');
    expect(classifyStderrLine("[segment @ 0x55] Failed to open segment '/home/me/fine/chunk_00001.wav'")).toBe('error');
  });

  it('classifies what this machine’s ffmpeg prints now (guards against a newer ffmpeg rewording)', async () => {
    // ffmpeg exits 0 even when it could not write the trailer to /dev/full: take stderr either way.
    const run = async (args: string[]): Promise<string[]> => {
      const { stderr } = await execFileAsync('ffmpeg', ['-hide_banner', '-nostats', '-loglevel', 'level+info', ...args]).catch(
        (e: { stderr: string }) => e,
      );
      return stderr.split('\n').filter((l) => l.length > 0);
    };
    const missing = await run(['-i', '/nonexistent/speech.wav', '-f', 'null', '-']);
    expect(missing.map(classifyStderrLine)).toContain('error');
    const full = await run(['-f', 'lavfi', '-i', 'sine', '-t', '0.2', '-f', 'wav', '-y', '/dev/full']);
    expect(full.filter((l) => /No space left on device/.test(l)).map(classifyStderrLine)).toEqual(expect.arrayContaining(['error']));
    expect(
      full
        .filter((l) => !/No space left on device/.test(l))
        .map(classifyStderrLine)
        .every((level) => level === 'debug'),
    ).toBe(true);
  });
});

describe('levels on real recordings', { concurrent: true }, () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());
  const lavfi = ['--input-format', 'lavfi', '--input', SINE];
  const record = async (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const recordings = path.join(sandbox.root, name);
    const result = await runCli(['record', '--no-realtime', '--recordings-dir', recordings, ...args], sandbox, env);
    return { result, dir: onlySessionDir(recordings) };
  };

  it('debug: every ffmpeg stderr line is in the log, in order (compared with a bare run of the logged command)', async () => {
    const { result, dir } = await record('debug', [...lavfi, '--duration', '3', '--segment-time', '1', '--log-level', 'debug']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logging to ${path.join(dir, 'session.log')} (level=debug)`);
    const log = readSessionLog(dir);
    expect(log[0]?.fields.log_level).toBe('debug');
    const logged = log.filter((l) => l.message === 'ffmpeg_stderr').map((l) => l.fields.line!);
    // Re-run the exact logged command into another folder and compare its stderr line by line.
    const command = log.find((l) => l.message === 'ffmpeg_command')!.fields.command!;
    const bareDir = path.join(sandbox.root, 'bare');
    fs.mkdirSync(bareDir);
    const argv = (shellQuote.parse(command) as string[]).map((arg) => arg.replaceAll(dir, bareDir));
    const bare = await execFileAsync(argv[0]!, argv.slice(1));
    const normalise = (line: string): string =>
      line
        .replace(/@ 0x[0-9a-f]+/g, '@ 0x')
        .replace(/speed=\s*\S+/, 'speed=')
        .replaceAll(bareDir, dir);
    // `-progress pipe:2` blocks (`key=value`) and the level reports (`frame:…`, `lavfi.astats…=`) are read by echolog, not logged.
    expect(logged.map(normalise)).toEqual(
      bare.stderr
        .split('\n')
        .filter((l) => l.length > 0 && !/^[a-z_0-9]+=/.test(l) && !parseLevelReportLine(l))
        .map(normalise),
    );
    expect(logged.some((l) => l.startsWith('[info] Stream mapping:'))).toBe(true);
    expect(log.filter((l) => l.message === 'ffmpeg_stderr').every((l) => l.level === 'DEBUG')).toBe(true);
  });

  it('info (default): lifecycle and chunks only; a healthy capture logs no ffmpeg line at all', async () => {
    const { result, dir } = await record('info', [...lavfi, '--duration', '3', '--segment-time', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(level=info)');
    const log = readSessionLog(dir);
    expect(log[0]?.fields.log_level).toBe('info');
    expect(log.some((l) => l.level === 'DEBUG')).toBe(false);
    expect(log.filter((l) => l.message === 'ffmpeg_stderr')).toEqual([]);
    // The last chunk's row may be read after ffmpeg has exited: compare without that order.
    expect(log.map((l) => l.message).sort()).toEqual([
      'chunk_created',
      'chunk_created',
      'chunk_created',
      'ffmpeg_command',
      'ffmpeg_exited',
      'ffmpeg_started',
      'session_start',
      'session_stop',
    ]);
    expect(log.at(-1)?.message).toBe('session_stop');
  });

  it('info: a WAV input logs no ffmpeg line (Guessed Channel Layout is known-benign: DEBUG)', async () => {
    const wav = path.join(sandbox.root, 'tone.wav');
    await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=2', wav]);
    const { result, dir } = await record('info-wav', ['--input', wav, '--segment-time', '1'], { ECHOLOG_LOG_LEVEL: 'info' });
    const whole = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
    expect(result.code, `${result.stderr}\n${whole}`).toBe(0);
    const stderrLines = readSessionLog(dir).filter((l) => l.message === 'ffmpeg_stderr');
    expect(
      stderrLines.map((l) => [l.level, l.fields.line]),
      whole,
    ).toEqual([]);
  });

  it("a bad lavfi filter: ffmpeg's `No such filter` reaches the log at info (ERROR) and the user's screen", async () => {
    const { result, dir } = await record('no-such-filter', [
      '--input-format',
      'lavfi',
      '--input',
      'sine=frequency=440,volumee=2',
      '--duration',
      '2',
    ]);
    expect(result.code).not.toBe(0);
    const log = readSessionLog(dir);
    const errors = log.filter((l) => l.message === 'ffmpeg_stderr');
    // No retry fixes an unknown filter: one run, its two lines.
    expect(log.filter((l) => l.message === 'ffmpeg_started')).toHaveLength(1);
    expect(errors.map((l) => [l.level, l.fields.line?.replace(/@ 0x[0-9a-f]+/, '@ 0x')])).toEqual([
      ['ERROR', "[lavfi @ 0x] [error] No such filter: 'volumee'"],
      ['ERROR', '[error] sine=frequency=440,volumee=2: Invalid argument'],
    ]);
    expect(result.stderr).toContain("No such filter: 'volumee'");
  });

  it('warning and error: chunk events and INFO lines are dropped, but start, command and stop are always written', async () => {
    for (const level of ['warning', 'error'] as const) {
      const { result, dir } = await record(`level-${level}`, [...lavfi, '--duration', '2', '--segment-time', '1', '--log-level', level]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`(level=${level})`);
      const log = readSessionLog(dir);
      expect(log.map((l) => (l.message === 'ffmpeg_stderr' ? `${l.level} ${l.fields.line}` : l.message))).toEqual([
        'session_start',
        'ffmpeg_command',
        'session_stop',
      ]);
      expect(log[0]?.fields.log_level).toBe(level);
      expect(log.at(-1)?.fields.reason).toBe('duration_reached');
    }
  });

  it('flag beats env beats file for the level, and the level in force is what the start line and session_start say', async () => {
    const config = path.join(sandbox.root, 'levels.yaml');
    fs.writeFileSync(config, 'logging:\n  level: error\n');
    const fromFile = await record('from-file', [...lavfi, '--duration', '1', '--config', config]);
    expect(fromFile.result.stdout).toContain('(level=error)');
    expect(readSessionLog(fromFile.dir)[0]?.fields.log_level).toBe('error');
    const fromEnv = await record('from-env', [...lavfi, '--duration', '1', '--config', config], { ECHOLOG_LOG_LEVEL: 'warning' });
    expect(fromEnv.result.stdout).toContain('(level=warning)');
    expect(readSessionLog(fromEnv.dir)[0]?.fields.log_level).toBe('warning');
    const fromFlag = await record('from-flag', [...lavfi, '--duration', '1', '--config', config, '--log-level', 'debug'], {
      ECHOLOG_LOG_LEVEL: 'warning',
    });
    expect(fromFlag.result.stdout).toContain('(level=debug)');
    expect(readSessionLog(fromFlag.dir)[0]?.fields.log_level).toBe('debug');
  });

  it('redact_device: the device name never appears in the log, a stable hash does', async () => {
    const config = path.join(sandbox.root, 'redact.yaml');
    fs.writeFileSync(config, 'logging:\n  redact_device: true\n');
    const runs = await Promise.all(
      ['redact-1', 'redact-2'].map((name) => record(name, [...lavfi, '--duration', '1', '--log-level', 'debug', '--config', config])),
    );
    const hash = redactDevice(SINE);
    for (const { result, dir } of runs) {
      expect(result.code).toBe(0);
      const text = fs.readFileSync(path.join(dir, 'session.log'), 'utf8');
      expect(text).not.toContain('sine=frequency');
      const log = readSessionLog(dir);
      expect(log[0]?.fields.device).toBe(hash);
      expect(JSON.parse(log[0]!.fields.overrides!)['recording.input']).toBe(hash);
      expect(log.find((l) => l.message === 'ffmpeg_command')?.fields.command).toContain(` -i ${hash} `);
      expect(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')).not.toContain('sine=frequency');
    }
  });

  it('log volume at info: under 100 KB per hour of audio with 10 s chunks (1 h recorded with --no-realtime)', async () => {
    const { result, dir } = await record('volume', [...lavfi, '--duration', '3600', '--segment-time', '10']);
    expect(result.code).toBe(0);
    const bytes = fs.statSync(path.join(dir, 'session.log')).size;
    const log = readSessionLog(dir);
    expect(log.filter((l) => l.message === 'chunk_created')).toHaveLength(360);
    console.log(`session.log at info, 1 h of audio, 10 s chunks: ${bytes} bytes`);
    expect(bytes).toBeLessThan(100 * 1024);
  });
});

import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, HELP } from '../src/cli/help-text.js';
import { terminalStyle } from '../src/cli/terminal.js';
import { formatElapsed, plural } from '../src/cli/text-format.js';
import { REPO, runCli, sandboxPool } from './helpers/cli.js';
import { runInPty } from './helpers/pty.js';

const pool = sandboxPool();
const sandbox = pool.sandbox;
afterAll(pool.cleanup);

/** SGR sequences (`ESC [ … m`): colour and style. Cursor movement is not colour. */
const SGR = /\x1b\[[0-9;]*m/;
/** ora's default `dots` spinner frames are braille patterns. */
const SPINNER_FRAME = /[\u2800-\u28ff]/;

describe('terminalStyle', () => {
  const tty = { isTTY: true, columns: 80, noColorFlag: false };
  it.each([
    ['a colour terminal', { TERM: 'xterm' }, tty, { color: true, animate: true }],
    ['NO_COLOR=1', { TERM: 'xterm', NO_COLOR: '1' }, tty, { color: false, animate: true }],
    ['NO_COLOR empty is unset', { TERM: 'xterm', NO_COLOR: '' }, tty, { color: true, animate: true }],
    ['FORCE_COLOR=0', { TERM: 'xterm', FORCE_COLOR: '0' }, tty, { color: false, animate: true }],
    ['--no-color', { TERM: 'xterm' }, { ...tty, noColorFlag: true }, { color: false, animate: true }],
    ['TERM=dumb', { TERM: 'dumb' }, tty, { color: false, animate: false }],
    ['CI=1', { TERM: 'xterm', CI: '1' }, tty, { color: true, animate: false }],
    ['not a TTY', { TERM: 'xterm' }, { ...tty, isTTY: false }, { color: false, animate: false }],
    ['a TTY without a width', { TERM: 'xterm' }, { ...tty, columns: 0 }, { color: true, animate: false }],
  ] as const)('%s', (_name, env, facts, expected) => expect(terminalStyle({ env, ...facts })).toEqual(expected));
});

describe('small formatters', () => {
  it('pluralises', () => {
    expect(plural(1, 'utterance')).toBe('1 utterance');
    expect(plural(0, 'utterance')).toBe('0 utterances');
    expect(plural(2, 'chunk')).toBe('2 chunks');
  });
  it('formats elapsed time', () => expect(formatElapsed(3_725_900)).toBe('01:02:05'));
});

describe('help and version', () => {
  it("the exit codes in --help are README's", async () => {
    const readme = fs.readFileSync(`${REPO}/README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 1));
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(EXIT_CODES.map(([code]) => code)).toEqual(documented);
    const help = await runCli(['--help'], sandbox());
    expect(help.code).toBe(0);
    for (const code of documented) expect(help.stdout).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
  });

  it('-v and --version print the version', async () => {
    const { version } = JSON.parse(fs.readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string };
    const box = sandbox();
    for (const flag of ['-v', '--version']) expect((await runCli([flag], box)).stdout).toBe(`${version}\n`);
  });

  it.each(Object.keys(HELP))('%s --help shows 2–4 examples and the environment it reads', async (command) => {
    const help = HELP[command]!;
    expect(help.examples.length).toBeGreaterThanOrEqual(2);
    expect(help.examples.length).toBeLessThanOrEqual(4);
    const result = await runCli([...command.split(' '), '--help'], sandbox());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('\nExamples:\n');
    for (const [example] of help.examples) expect(result.stdout).toContain(`\n  $ ${example}\n`);
    expect(result.stdout).toMatch(/\nEnvironment:\n(  .*\n)+/);
  });
});

const RECORD_2S = ['record', '--input-format', 'lavfi', '--input', 'sine=frequency=440', '--duration', '2', '--segment-time', '1'];

describe('record on a real terminal', () => {
  it.concurrent('TERM=xterm: a coloured spinner', async () => {
    const out = await runInPty(RECORD_2S, sandbox(), { TERM: 'xterm' });
    expect(out).toMatch(SPINNER_FRAME);
    expect(out).toMatch(SGR);
    expect(out).toMatch(/Stopped \(duration_reached\): 2 chunks/);
  });

  it.concurrent.each([
    ['NO_COLOR=1', { TERM: 'xterm', NO_COLOR: '1' }, []],
    ['FORCE_COLOR=0', { TERM: 'xterm', FORCE_COLOR: '0' }, []],
    ['--no-color', { TERM: 'xterm' }, ['--no-color']],
  ] as const)('%s: the spinner animates without colour', async (_name, env, flags) => {
    const out = await runInPty([...RECORD_2S, ...flags], sandbox(), env);
    expect(out).toMatch(SPINNER_FRAME);
    expect(out).not.toMatch(SGR);
  });

  it.concurrent.each([
    ['TERM=dumb', { TERM: 'dumb' }],
    ['CI=1', { TERM: 'xterm', CI: '1' }],
  ] as const)('%s: plain lines, each chunk as it comes, no spinner, no colour', async (_name, env) => {
    const out = await runInPty(RECORD_2S, sandbox(), env);
    expect(out).not.toMatch(SPINNER_FRAME);
    expect(out).not.toMatch(SGR);
    const lines = out.split('\r\n');
    expect(lines[0]).toMatch(/^Logging to \S+session\.log \(level=info\)$/);
    expect(lines[1]).toMatch(/^ffmpeg: \/\S+\/ffmpeg \(PATH\)$/);
    expect(lines).toContain('chunk 1 chunk_00001.wav (1.0 s)');
    expect(lines).toContain('chunk 2 chunk_00002.wav (1.0 s)');
  });
});

describe('warnings while the spinner runs', () => {
  it.concurrent('a warning on stderr clears the spinner line first, so it starts a clean line', async () => {
    const box = sandbox();
    const bin = `${box.root}/bin`;
    fs.mkdirSync(bin);
    // ffmpeg but no pocketsphinx: record warns once it has started, with the spinner running.
    for (const tool of ['node', 'ffmpeg', 'stty', 'timeout']) fs.symlinkSync(fs.realpathSync(`/usr/bin/${tool}`), `${bin}/${tool}`);
    const out = await runInPty([...RECORD_2S, '--engine', 'pocketsphinx'], box, { TERM: 'xterm', PATH: bin });
    expect(out).toMatch(SPINNER_FRAME);
    const at = out.indexOf('echolog: warning: recording without transcription');
    expect(at).toBeGreaterThan(0);
    // What precedes it on the terminal: a line clear (ESC[0K, then maybe a cursor move), not the spinner's text.
    expect(out.slice(0, at)).toMatch(/\x1b\[0K(\x1b\[1G)?$/);
  });
});

describe('streams', () => {
  it.concurrent('with stdout redirected, warnings are on stderr and progress on stdout', async () => {
    const box = sandbox();
    // A PATH with ffmpeg but no pocketsphinx: the engine is missing, which record warns about and goes on.
    const bin = `${box.root}/bin`;
    fs.mkdirSync(bin);
    for (const tool of ['node', 'ffmpeg']) fs.symlinkSync(fs.realpathSync(`/usr/bin/${tool}`), `${bin}/${tool}`);
    const result = await runCli([...RECORD_2S, '--no-realtime', '--engine', 'pocketsphinx'], box, { PATH: bin });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^echolog: warning: recording without transcription: pocketsphinx is not installed/m);
    expect(result.stdout).not.toContain('warning');
    expect(result.stdout).toMatch(/^Logging to /);
    expect(result.stdout).toContain(`ffmpeg: ${bin}/ffmpeg (PATH)\n`);
    expect(result.stdout).toMatch(/^Stopped \(duration_reached\): 2 chunks/m);
  });
});

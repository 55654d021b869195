import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP } from '../src/cli/help-text.js';
import { commandOf, mayPrintHelp } from '../src/cli/program.js';
import { formatEngineLine } from '../src/cli/progress.js';
import { CONFIG_KEYS, unknownConfigKeys } from '../src/config/config-keys.js';
import { flattenToDotted } from '../src/config/dotted-keys.js';
import { DEFAULT_CONFIG } from '../src/config/schema.js';
import { devicesJson, levelNumber } from '../src/cli/json-output.js';
import { execFileAsync, exitWithin, readSessionLog, runCli, sandboxPool, SINE, startCli, waitFor } from './helpers/cli.js';

// The CLI surface as a new user meets it (issue 21 §2): one error style, exit codes as README's table says.
const pool = sandboxPool();
afterAll(pool.cleanup);

describe('one error style: `echolog: ` for errors, `echolog: warning: ` for warnings', () => {
  it.concurrent.each([
    [['recrd'], /^echolog: unknown command 'recrd'\n/],
    [['record', '--bogus'], /^echolog: unknown option '--bogus'\n/],
    [['sessions', 'show'], /^echolog: missing required argument 'id'\n/],
    [['record', '--segment-time', 'x'], /^echolog: option '--segment-time <\w+>' argument 'x' is invalid/],
  ])('commander’s own usage errors: %j exits 2 with the echolog prefix', async (args, expected) => {
    const result = await runCli(args, pool.sandbox());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/^error:/m);
  });

  it.concurrent('transcribe of an unknown id exits 2, as sessions show does, with the same line', async () => {
    const box = pool.sandbox();
    const transcribe = await runCli(['transcribe', 'nosuch'], box);
    const show = await runCli(['sessions', 'show', 'nosuch'], box);
    expect(transcribe.code).toBe(2);
    expect(show.code).toBe(2);
    expect(transcribe.stderr).toBe(show.stderr);
    expect(transcribe.stderr).toBe(`echolog: no session nosuch in ${box.recordings} (see echolog sessions list)\n`);
  });
});

describe('daemon start --foreground', () => {
  it('stopped by Ctrl-C (SIGINT) exits 130, by SIGTERM 143', async () => {
    const box = pool.sandbox();
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const root = path.join(box.root, `ipc-${signal}`);
      const child = startCli(['daemon', 'start', '--foreground', '--engine', 'pocketsphinx', '--ipc-root', root], box);
      await waitFor(() => child.output().stdout.includes('session daemon ready'), 30_000, 'the daemon to be ready');
      child.kill(signal);
      expect(await exitWithin(child, 15_000)).toEqual({ code, signal: null });
      expect(child.output().stdout).toContain(`session daemon stopped: ${signal}`);
    }
  });
});

/** Every key of a JSON document, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
}

const SNAKE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

describe('--json: snake_case keys and real numbers', () => {
  it('record, status, sessions show/list/export, transcribe, models list, devices', async () => {
    const box = pool.sandbox();
    const record = await runCli(
      [
        'record',
        '--input-format',
        'lavfi',
        '--input',
        SINE,
        '--duration',
        '2s',
        '--segment-time',
        '1',
        '--no-realtime',
        '--session-id',
        'j1',
        '--json',
      ],
      box,
    );
    expect(record.code, record.stderr).toBe(0);
    // stdout is the summary alone; progress went to stderr.
    const summary = JSON.parse(record.stdout) as Record<string, unknown>;
    expect(summary).toEqual({
      session_id: 'j1',
      session_dir: path.join(box.recordings, 'j1'),
      chunks: 2,
      audio_seconds: 2,
      stop_reason: 'duration_reached',
      exit_code: 0,
    });
    expect(record.stderr).toContain('Stopped (duration_reached): 2 chunks');

    const dryRun = await runCli(['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1m', '--dry-run', '--json'], box);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({
      input_format: 'lavfi',
      input: SINE,
      duration_seconds: 60,
      ffmpeg_args: expect.arrayContaining(['-t', '60']),
    });

    const documents: Record<string, unknown> = { record: summary, 'record --dry-run': JSON.parse(dryRun.stdout) };
    for (const [name, args] of [
      ['status', ['status', '--json']],
      ['sessions show', ['sessions', 'show', 'j1', '--json']],
      ['sessions list', ['sessions', 'list', '--json']],
      ['sessions export', ['sessions', 'export', 'j1', '--audio', path.join(box.root, 'out.wav'), '--json']],
      ['transcribe', ['transcribe', 'j1', '--engine', 'pocketsphinx', '--json']],
      ['models list', ['models', 'list', '--json']],
      ['devices', ['devices', '--json']],
    ] as const) {
      const result = await runCli([...args], box);
      // devices exits 1 when the machine has none; its JSON is printed either way.
      if (name !== 'devices') expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      documents[name] = JSON.parse(result.stdout);
    }
    for (const [name, document] of Object.entries(documents)) {
      // Keys are snake_case (session.json's own keys and the config's dotted keys included).
      expect(
        keysOf(document).filter((key) => !SNAKE.test(key)),
        name,
      ).toEqual([]);
    }
    const show = documents['sessions show'] as Record<string, unknown>;
    expect(show).not.toHaveProperty('id');
    expect(show.session_id).toBe('j1');
    expect(typeof (show.capture as { last_level_db: unknown }).last_level_db).toBe('number');
    expect(documents['sessions export']).toMatchObject({
      session_ids: ['j1'],
      audio: { file: path.join(box.root, 'out.wav'), chunks: 2, seconds: 2 },
      transcript: null,
    });
    expect(documents.transcribe).toMatchObject({ session_id: 'j1', engine: 'pocketsphinx', covered: 0, transcribed: [1, 2], failed: [] });
    expect((documents['models list'] as { models: Array<{ size_bytes: unknown }> }).models[0]!.size_bytes).toEqual(expect.any(Number));
  });
});

describe('JSON conversions (pure)', () => {
  it('devices: is_default, not isDefault', () => {
    const sections = [
      { format: 'pulse' as const, devices: [{ format: 'pulse' as const, name: 'null.monitor', description: 'Monitor', isDefault: true }] },
    ];
    expect(devicesJson(sections)).toEqual([
      { format: 'pulse', devices: [{ format: 'pulse', name: 'null.monitor', description: 'Monitor', is_default: true }] },
    ]);
  });
  it('levels: numbers; none yet and digital silence (-inf) are null', () => {
    expect([levelNumber('-23.1'), levelNumber('0'), levelNumber('-inf'), levelNumber(null)]).toEqual([-23.1, 0, null, null]);
  });
});

describe('help', () => {
  const leaves = Object.keys(HELP).filter((path) => !Object.keys(HELP).some((other) => other.startsWith(`${path} `)));
  it('every leaf command has its own help sections, and every command of the program has some', async () => {
    expect(leaves).toEqual(
      expect.arrayContaining([
        'sessions list',
        'sessions show',
        'sessions export',
        'sessions delete',
        'daemon start',
        'daemon stop',
        'daemon status',
        'models list',
        'models pull',
        'models path',
      ]),
    );
    const program = await runCli(['--help'], pool.sandbox());
    const commands = program.stdout.slice(program.stdout.indexOf('\nCommands:\n'), program.stdout.indexOf('\nExit codes:\n'));
    const listed = [...commands.matchAll(/^  (\w+) /gm)].map((m) => m[1]).filter((name) => name !== 'help');
    expect(listed).toContain('sessions');
    for (const name of listed) expect(HELP, name).toHaveProperty([name!]);
  });

  it.concurrent.each(['', ...Object.keys(HELP)])('%j --help at COLUMNS=80: lines ≤ 100 columns, no internal words', async (command) => {
    const result = await runCli([...command.split(' ').filter(Boolean), '--help'], pool.sandbox(), { COLUMNS: '80' });
    expect(result.code).toBe(0);
    const wide = result.stdout.split('\n').filter((line) => line.length > 100);
    expect(wide).toEqual([]);
    // Where a requirement came from is no help to a user: say what it is.
    expect(result.stdout).not.toMatch(/\bseeds?\b/i);
    expect(result.stdout).toMatch(command === '' ? /\nExit codes:\n/ : /\nExamples:\n[^]*\nEnvironment:\n/);
  });

  it.concurrent('the width follows $COLUMNS off a terminal', async () => {
    const widest = async (columns: string) => {
      const help = await runCli(['record', '--help'], pool.sandbox(), { COLUMNS: columns });
      // Example commands are never wrapped (they paste into a shell).
      return Math.max(
        ...help.stdout
          .split('\n')
          .filter((line) => !line.startsWith('  $ '))
          .map((line) => line.length),
      );
    };
    expect(await widest('80')).toBeLessThanOrEqual(80);
    const wide = await widest('140');
    expect(wide).toBeGreaterThan(100);
    expect(wide).toBeLessThanOrEqual(140);
  });
});

describe('a config file with an unknown key', () => {
  it.concurrent('status and sessions list warn in one line and exit as usual; record and config refuse it (exit 2)', async () => {
    const box = pool.sandbox();
    const file = path.join(box.home, 'echolog.conf');
    fs.writeFileSync(file, 'logging:\n  levle: debug\nrecording:\n  segment_time: 2\n', { mode: 0o600 });
    const warning = `echolog: warning: config file ${file}: unknown key logging.levle (echolog config names the keys; record refuses this file)\n`;
    for (const args of [['status'], ['sessions', 'list']]) {
      const result = await runCli(args, box);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stderr, args.join(' ')).toBe(warning);
    }
    for (const args of [['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1'], ['config']]) {
      const result = await runCli(args, box);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^echolog: config file .*: unknown key logging\.levle: did you mean logging\.level\?/);
    }
  });

  it('the quick commands know every key of the schema (config-keys.ts is kept equal to it)', () => {
    expect([...CONFIG_KEYS].sort()).toEqual(Object.keys(flattenToDotted(DEFAULT_CONFIG)).sort());
    expect(unknownConfigKeys(['logging', 'logging.level', 'transcription.openai', 'logging.levle', 'nope.deep'])).toEqual([
      'logging.levle',
      'nope.deep',
    ]);
  });
});

describe('record says which engine it uses and which session it resumes', () => {
  it('pure: the engine line', () => {
    expect(formatEngineLine('pocketsphinx', { transcription_engine: 'pocketsphinx', transcription_model: 'en-us' })).toBe(
      'transcription: pocketsphinx (en-us)',
    );
    expect(formatEngineLine('auto', { transcription_engine: 'pocketsphinx', transcription_model: 'en-us' })).toBe(
      'transcription: pocketsphinx (en-us); chosen automatically',
    );
    expect(formatEngineLine('none', { transcription_engine: 'none' })).toBe('transcription: off');
  });

  it('a running session daemon taking over auto, and a resume, are said on screen and in session_start', async () => {
    const box = pool.sandbox();
    const auto = { ECHOLOG_ENGINE: 'auto' };
    const LAVFI = ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--segment-time', '1', '--no-realtime'];
    const first = await runCli([...LAVFI, '--session-id', 'before'], box);
    expect(first.stdout).toContain('\ntranscription: off\n');
    const daemon = await runCli(['daemon', 'start', '--engine', 'pocketsphinx'], box, auto);
    expect(daemon.code, daemon.stderr).toBe(0);
    try {
      const pid = /pid (\d+)/.exec(daemon.stdout)![1];
      const result = await runCli([...LAVFI, '--session-id', 'after', '--resume', 'before'], box, auto);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(
          `\\ntranscription: daemon \\(en-us\\), the session daemon pid ${pid} on \\S+; chosen automatically: a session daemon is ready\\n`,
        ),
      );
      expect(result.stdout).toContain('\nresuming before: recording into a new session that continues it\n');
      const start = readSessionLog(path.join(box.recordings, 'after')).find((line) => line.message === 'session_start')!;
      expect(start.fields).toMatchObject({ transcription_engine: 'daemon', daemon_pid: pid, resumed_from: 'before' });
    } finally {
      expect((await runCli(['daemon', 'stop'], box)).code).toBe(0);
    }
  });
});

describe('shell completion and the man page, made from the help', () => {
  /** What the bash completion offers for a command line whose last word is being completed. */
  async function bashOffers(script: string, line: string[]): Promise<string[]> {
    const words = ['echolog', ...line].map((w) => `'${w}'`).join(' ');
    const program = `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${line.length}; _echolog; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await execFileAsync('bash', ['--norc', '--noprofile', '-c', program]);
    return stdout.split('\n').filter(Boolean);
  }

  it('bash: sourced in a real bash, it completes commands, subcommands and options, skipping option values', async () => {
    const box = pool.sandbox();
    const result = await runCli(['completion', 'bash'], box);
    expect(result.code, result.stderr).toBe(0);
    const script = result.stdout;
    expect(await bashOffers(script, ['se'])).toEqual(['sessions']);
    expect(await bashOffers(script, [''])).toEqual(expect.arrayContaining(['record', 'status', 'sessions', 'completion', 'man']));
    expect(await bashOffers(script, ['sessions', ''])).toEqual(['list', 'show', 'delete', 'export']);
    expect(await bashOffers(script, ['sessions', 'list', '--s'])).toEqual(['--status', '--since']);
    // --input takes a value (here the word "sessions"), which is not taken for a command.
    expect(await bashOffers(script, ['record', '--input', 'sessions', '--dur'])).toEqual(['--duration']);
    expect(await bashOffers(script, ['daemon', 'start', '--fo'])).toEqual(['--foreground']);
    // An argument (a session id, a file): nothing offered, bash falls back to file names.
    expect(await bashOffers(script, ['sessions', 'show', ''])).toEqual([]);
  });

  it('zsh and fish: scripts of the same commands; an unknown shell exits 2', async () => {
    const box = pool.sandbox();
    const zsh = await runCli(['completion', 'zsh'], box);
    expect(zsh.stdout).toMatch(/^#compdef echolog\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -o default -F _echolog echolog');
    const fish = (await runCli(['completion', 'fish'], box)).stdout;
    expect(fish).toContain(
      "complete -c echolog -n '__fish_use_subcommand' -a sessions -d 'find, inspect, export, resume and clean up recorded sessions'",
    );
    expect(fish).toContain(
      "complete -c echolog -n '__fish_seen_subcommand_from sessions; and not __fish_seen_subcommand_from list show delete export' -a list",
    );
    expect(fish).toMatch(/^complete -c echolog -n '__fish_seen_subcommand_from record' -l duration -r -F -d /m);
    const bad = await runCli(['completion', 'tcsh'], box);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('echolog: completion "tcsh" is not allowed: give bash, zsh, fish\n');
  });

  it('man: roff that man(1) renders without warnings, with every command, option, example and exit code', async () => {
    const box = pool.sandbox();
    const result = await runCli(['man'], box);
    expect(result.code, result.stderr).toBe(0);
    const file = path.join(box.root, 'echolog.1');
    fs.writeFileSync(file, result.stdout);
    expect(result.stdout).toMatch(/^\.TH ECHOLOG 1 "\d{4}-\d{2}-\d{2}" "echolog [\d.]+" "User Commands"\n/);
    // groff's own check: -ww turns every warning on, -z renders without output.
    const check = await execFileAsync('groff', ['-man', '-ww', '-z', file]);
    expect(check.stderr).toBe('');
    const { stdout: page } = await execFileAsync('sh', ['-c', `MANWIDTH=80 man -l ${file} | col -b`]);
    for (const heading of ['NAME', 'SYNOPSIS', 'COMMANDS', 'EXIT STATUS']) expect(page).toMatch(new RegExp(`^${heading}$`, 'm'));
    for (const command of ['echolog record [options]', 'echolog sessions export [options] <id>', 'echolog daemon start [options]'])
      expect(page).toContain(command);
    expect(page).toMatch(/^ {7}--segment-time <duration>$/m);
    expect(page).toContain('echolog sessions delete --older-than 30d --yes');
    expect(page).toMatch(/^ {7}130 +stopped by Ctrl-C \(SIGINT\)$/m);
  });
});

describe('what the program registers and loads for a command line (pure)', () => {
  it.each([
    [['status'], 'status', false],
    [['--no-color', 'sessions', 'list', '--json'], 'sessions', false],
    [['sessions'], 'sessions', true],
    [['sessions', 'list', '--help'], 'sessions', true],
    [['status', '-h'], 'status', true],
    // --help before the command asks for the program's help: every command is listed.
    [['--help', 'record'], undefined, true],
    [['-h', 'status'], undefined, true],
    [[], undefined, true],
    [['help', 'record'], undefined, true],
    [['recrd'], undefined, true],
    [['completion', 'bash'], undefined, true],
  ] as const)('%j: registers %s, help layout %s', (args, only, help) => {
    expect(commandOf(args)).toBe(only);
    expect(mayPrintHelp(args)).toBe(help);
  });
});

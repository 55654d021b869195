import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { parseStatusArgs, type StatusArgs } from '../src/cli/status-args.js';

/**
 * What commander makes of a command line with the program's real `status` registration: its options as runStatus
 * would get them, or the error commander ends with (usage, help, version). Only the action is replaced, so nothing runs.
 */
async function commanderReading(args: readonly string[]): Promise<StatusArgs | string> {
  const surroundings = {
    cwd: '/',
    env: {},
    home: '/nonexistent',
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    now: () => new Date(0),
  };
  const program = await buildProgram(surroundings, { exitCode: 0 }, 'status', false);
  let read: StatusArgs | string = 'the status action did not run';
  program.commands
    .find((command) => command.name() === 'status')!
    .action((options: { json?: boolean; config?: string; recordingsDir?: string }) => {
      read = {
        json: Boolean(options.json),
        ...(options.config !== undefined && { configPath: options.config }),
        ...(options.recordingsDir !== undefined && { recordingsDir: options.recordingsDir }),
      };
    });
  try {
    await program.parseAsync(['node', 'echolog', ...args]);
  } catch (error) {
    return `commander: ${(error as { code?: string }).code}`;
  }
  return read;
}

describe('status is answered before commander loads, for the command lines it accepts (pure)', () => {
  it.each([
    [['status'], { json: false }],
    [['status', '--json'], { json: true }],
    [['--no-color', 'status', '--json', '--no-color'], { json: true }],
    [['status', '--config', 'a.conf', '--recordings-dir', '/r'], { json: false, configPath: 'a.conf', recordingsDir: '/r' }],
    [['status', '--config=a.conf', '--recordings-dir=/r', '--json'], { json: true, configPath: 'a.conf', recordingsDir: '/r' }],
    [['status', '--recordings-dir', '', '--config='], { json: false, configPath: '', recordingsDir: '' }],
    [['status', '--config', 'a', '--config', 'b', '--json', '--json'], { json: true, configPath: 'b' }],
    [['status', '--recordings-dir', 'status'], { json: false, recordingsDir: 'status' }],
  ])('%j reads as commander reads it', async (args, expected) => {
    expect(parseStatusArgs(args)).toEqual(expected);
    expect(await commanderReading(args)).toEqual(expected);
  });

  it.each([
    // Help, version, errors and anything unusual go to commander, which owns their output and exit code.
    [['status', '--help']],
    [['status', '-h']],
    [['status', '--version']],
    [['status', '-v']],
    [['status', '--bogus']],
    [['status', 'extra']],
    [['status', '--json=yes']],
    [['status', '--config']],
    [['status', '--config', '--no-color']],
    [['status', '--config', '-']],
    [['status', '--recordings-dir=-x']],
    [['status', '--']],
    [['status', '--color']],
    [['--json', 'status']],
    [['-h', 'status']],
    [['sessions', 'list']],
    [['help', 'status']],
    [[]],
  ])('%j is left to the program', (args) => {
    expect(parseStatusArgs(args)).toBeUndefined();
  });

  it('a command line left to the program is one commander refuses or answers otherwise, or reads alike', async () => {
    // Not a promise that commander fails on each (`--config --no-color` is read otherwise), only that none is lost.
    expect(await commanderReading(['status', '--bogus'])).toBe('commander: commander.unknownOption');
    expect(await commanderReading(['status', 'extra'])).toBe('commander: commander.excessArguments');
    expect(await commanderReading(['status', '--config'])).toBe('commander: commander.optionMissingArgument');
    expect(await commanderReading(['status', '--help'])).toBe('commander: commander.helpDisplayed');
  });
});

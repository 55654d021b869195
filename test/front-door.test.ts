import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitWithin, runCli, sandboxPool, startCli, waitFor } from './helpers/cli.js';

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
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const root = path.join(box.root, `ipc-${signal}`);
      const child = startCli(['daemon', 'start', '--foreground', '--engine', 'pocketsphinx', '--ipc-root', root], box);
      await waitFor(() => child.output().stdout.includes('session daemon ready'), 30_000, 'the daemon to be ready');
      child.kill(signal);
      expect(await exitWithin(child, 15_000)).toEqual({ code, signal: null });
      expect(child.output().stdout).toContain(`session daemon stopped: ${signal}`);
    }
  });
});

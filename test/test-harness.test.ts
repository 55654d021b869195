import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestProject } from 'vitest/node';
import { exitOf } from './helpers/cli.js';
import { MARK, markedProcesses } from './helpers/processes.js';
import setup from './setup/global.js';

/** The guard the whole suite relies on: a process left alive at the end of a run fails the run. */
describe('the run-end process check (test/setup/global.ts)', () => {
  const exitCode = process.exitCode;
  afterEach(() => {
    process.exitCode = exitCode;
  });

  /** A run id as the global setup provides it, and its check with a short grace. */
  function runOf(): { run: string; teardown: () => Promise<void> } {
    let run = '';
    const project = { provide: (_key: string, value: string) => (run = value) } as unknown as TestProject;
    const teardown = setup(project, 300);
    return { run, teardown };
  }

  it('fails the run, names and kills a process of this run still alive at its end', async () => {
    const { run, teardown } = runOf();
    const left = spawn('sleep', ['60'], { env: { PATH: process.env.PATH, [MARK]: `${run}/some-file` }, stdio: 'ignore', detached: true });
    await vi.waitFor(() => expect(markedProcesses(`${run}/`).map((p) => p.pid)).toEqual([left.pid]), { timeout: 5000 });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await teardown();
    expect(process.exitCode).toBe(1);
    expect(errors.mock.calls.join('\n')).toContain(`pid ${left.pid}: sleep 60`);
    errors.mockRestore();
    expect((await exitOf(left)).signal).toBe('SIGKILL');
  });

  it('interrupted (SIGINT, as Ctrl-C sends it; no teardown will run): kills the processes of this run at once', async () => {
    const { run, teardown } = runOf();
    const left = spawn('sleep', ['60'], { env: { PATH: process.env.PATH, [MARK]: `${run}/some-file` }, stdio: 'ignore', detached: true });
    await vi.waitFor(() => expect(markedProcesses(`${run}/`).map((p) => p.pid)).toEqual([left.pid]), { timeout: 5000 });
    process.emit('SIGINT', 'SIGINT');
    expect((await exitOf(left)).signal).toBe('SIGKILL');
    await teardown();
    expect(process.exitCode).toBe(exitCode);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('passes when nothing of this run is left, whatever other runs have alive', async () => {
    const { teardown } = runOf();
    const other = spawn('sleep', ['60'], { env: { PATH: process.env.PATH, [MARK]: 'another-run/file' }, stdio: 'ignore' });
    try {
      await teardown();
      expect(process.exitCode).toBe(exitCode);
      expect(other.exitCode).toBeNull();
    } finally {
      other.kill('SIGKILL');
      await exitOf(other);
    }
  });
});

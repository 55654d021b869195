import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { markedProcesses } from '../helpers/processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This `vitest run`'s id: the prefix of every test process's ECHOLOG_TEST_RUN. */
    echologTestRun: string;
  }
}

/**
 * The run's last word on processes: each file kills what it started (test/setup/processes.ts), and
 * here, after all files, anything still alive with this run's mark fails the run. Only this run's
 * processes count: the id is new for each run, so suites in other worktrees are left alone.
 */
export default function setup(project: TestProject, graceMs = 5000): () => Promise<void> {
  const run = `${process.pid}-${randomBytes(4).toString('hex')}`;
  project.provide('echologTestRun', run);
  // Interrupted (Ctrl-C, a CI timeout), vitest ends its workers but no file's teardown and no
  // teardown here runs: a test's `echolog record` without --duration would record on for ever.
  const interrupted = () => killMarked(run);
  for (const signal of SIGNALS) process.on(signal, interrupted);
  return async () => {
    for (const signal of SIGNALS) process.off(signal, interrupted);
    await checkRunEnd(run, graceMs);
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** SIGKILLs every process marked `run` (SIGKILL also ends a SIGSTOPped one); returns them. */
function killMarked(run: string) {
  const left = markedProcesses(`${run}/`);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left;
}

/** Fails the run (exit code 1) if a process marked `run` outlives `graceMs`; names and kills each. */
export async function checkRunEnd(run: string, graceMs = 5000): Promise<void> {
  // A file's processes were SIGKILLed in its teardown; give the kernel a moment to reap them.
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(`${run}/`);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = markedProcesses(`${run}/`);
  }
  if (left.length === 0) return;
  killMarked(run);
  process.exitCode = 1;
  console.error(
    `\nFAIL: ${left.length} process(es) started by this test run were still alive at its end (now killed):\n${left.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n')}\n`,
  );
}

import fs from 'node:fs';

/**
 * Every process a test starts can be found again, so none outlives the test file or the run:
 * - each carries `ECHOLOG_TEST_RUN=<run id>/<file id>` in its environment (test/setup/processes.ts
 *   sets it in the test file's process.env, and makeSandbox copies it into the sandbox env), which
 *   children, detached daemons and `su nobody` shells inherit;
 * - the CLI helpers start echolog in its own process group, so a group is killed as one.
 * The run id is unique per `vitest run`: other worktrees' suites on this machine are never touched.
 */
export const MARK = 'ECHOLOG_TEST_RUN';

export interface TestProcess {
  pid: number;
  pgid: number;
  command: string;
}

/** Live (not zombie) processes whose ECHOLOG_TEST_RUN starts with `prefix` (Linux /proc). */
export function markedProcesses(prefix: string): TestProcess[] {
  const wanted = `\0${MARK}=${prefix}`;
  return fs.readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) return [];
    try {
      const environ = `\0${fs.readFileSync(`/proc/${name}/environ`, 'latin1')}`;
      if (!environ.includes(wanted)) return [];
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (after[0] === 'Z') return [];
      const command = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      return [{ pid: Number(name), pgid: Number(after[2]), command }];
    } catch {
      return []; // gone meanwhile, or a kernel thread
    }
  });
}

/** This test file's mark (set by the setup file); empty outside vitest. */
export function fileMark(): string {
  return process.env[MARK] ?? '';
}

const groups = new Set<number>();

/** Remembers a process group this file started (a child spawned with `detached: true` leads its own). */
export function trackGroup(pgid: number | undefined): void {
  if (pgid) groups.add(pgid);
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Kills what this test file started: the process groups it made and every process carrying its
 * mark (SIGKILL also ends a SIGSTOPped one). A group is signalled only while a marked process is in
 * it, so a pgid reused by someone else's process is never hit. Waits until they are gone (bounded).
 */
export async function killFileProcesses(deadlineMs = 10_000): Promise<TestProcess[]> {
  const mark = fileMark();
  if (!mark) return [];
  const found = markedProcesses(mark);
  for (const p of found) {
    if (groups.has(p.pgid)) signal(-p.pgid);
    signal(p.pid);
  }
  groups.clear();
  const end = Date.now() + deadlineMs;
  while (markedProcesses(mark).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return found;
}

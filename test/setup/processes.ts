import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { fileMark, killFileProcesses, MARK } from '../helpers/processes.js';

/**
 * Runs before each test file: marks every process the file starts (children inherit process.env;
 * makeSandbox copies the mark into its env) and kills them when the file ends, after the file's
 * own afterAll hooks (hooks run in stack order). See test/helpers/processes.ts.
 */
process.env[MARK] = `${inject('echologTestRun') ?? `solo-${process.pid}`}/${process.pid}-${randomBytes(3).toString('hex')}`;

afterAll(async () => {
  const left = await killFileProcesses();
  // Killed here, but a test that leaves processes behind is a defect: say which ones.
  if (left.length > 0)
    console.warn(
      `${fileMark()}: killed ${left.length} process(es) the tests left running:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`,
    );
}, 20_000);

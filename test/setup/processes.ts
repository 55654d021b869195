import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { killLeftovers, MARK } from '../helpers/processes.js';

/**
 * Runs before each test file: marks every process the file starts (children inherit process.env;
 * makeSandbox copies the mark into its env) and kills them when the file ends, after the file's
 * own afterAll hooks (hooks run in stack order). See test/helpers/processes.ts.
 */
process.env[MARK] = `${inject('echologTestRun') ?? `solo-${process.pid}`}/${process.pid}-${randomBytes(3).toString('hex')}`;

afterAll(() => killLeftovers(), 20_000);

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

/**
 * A user's clone has nothing beside it, while CI's clone has a reference folder `shared/` beside it:
 * a test that reads from there would pass in CI and fail for everyone else. This check fails
 * on any tracked file of the project's code, tests, benchmarks or CI that reaches outside the repo
 * into that folder. (The pattern is assembled so that this file does not match itself.)
 */
describe('the project is self-contained', () => {
  it('nothing in src, test, bench, bin, .ci or package.json refers to the shared/ folder beside the repo', () => {
    const pattern = ['(\\.\\./)+', 'shared', '(/|\\b)'].join('');
    let hits = '';
    try {
      hits = execFileSync('git', ['grep', '-nE', pattern, '--', 'src', 'test', 'bench', 'bin', '.ci', 'package.json'], {
        cwd: REPO,
        encoding: 'utf8',
      });
    } catch (error) {
      // git grep exits 1 when nothing matches: the outcome this test wants.
      if ((error as { status?: number }).status !== 1) throw error;
    }
    expect(hits).toBe('');
  });
});

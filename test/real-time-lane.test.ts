import { afterAll, describe } from 'vitest';
import { killLeftovers } from './helpers/processes.js';

/**
 * The files whose assertions depend on real time, one after another in one worker, while the
 * other worker runs the rest of the suite (vitest.config.ts). Vitest runs a project's files in a
 * worker each, so a lane of files one after another is one file that imports them: each file's
 * tests, hooks and assertions are its own, unchanged; each runs in a suite of its name, and what it
 * started is killed when it ends, as if it had been a file of its own (test/setup/processes.ts).
 * Named on the command line, a real-time file runs alone (vitest.config.ts).
 */
for (const [name, load] of [
  ['live-transcription-e2e', () => import('./live-transcription-e2e.test.js')],
  ['daemon-ipc', () => import('./daemon-ipc.test.js')],
  ['speech-accuracy', () => import('./speech-accuracy.test.js')],
  ['readme-setup', () => import('./readme-setup.test.js')],
] as const) {
  describe(name, async () => {
    afterAll(() => killLeftovers(name), 20_000);
    await load();
  });
}

import { defineConfig } from 'vitest/config';

/**
 * Vitest 4 runs cpus − 1 files at once by default: one at a time on the 2-core CI machine. Here the
 * files run two at a time, except the few whose assertions depend on real time (words on screen
 * within seconds of being said, a bash client that gives up after 1.5 s): those run one after
 * another, after the rest, with the machine to themselves (a project with maxWorkers 1 is its own
 * sequential group). Every process a test starts is killed when its file ends, and the run fails if
 * one is still alive at the end (test/setup, test/helpers/processes.ts).
 */
const REAL_TIME = ['test/live-transcription-e2e.test.ts', 'test/daemon-ipc.test.ts', 'test/speech-accuracy.test.ts', 'test/readme-setup.test.ts'];

const shared = {
  // Real ffmpeg runs in real time with short segments: give such tests room.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  globalSetup: ['test/setup/global.ts'],
  setupFiles: ['test/setup/processes.ts'],
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'parallel', include: ['test/**/*.test.ts'], exclude: REAL_TIME, maxWorkers: 2 } },
      // At most three real-time tests at once (each runs ffmpeg and a decoder at the pace of audio).
      { test: { ...shared, name: 'real-time', include: REAL_TIME, maxWorkers: 1, maxConcurrency: 3 } },
    ],
  },
});

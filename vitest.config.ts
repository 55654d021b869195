import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Two workers (Vitest 4 would use cpus − 1: one on the 2-core CI machine). The files whose
 * assertions depend on real time (words on screen within seconds of being said, a bash client that
 * gives up after 1.5 s) run one after another in one of them, from the start, as one lane file that
 * imports them (test/real-time-lane.test.ts); the other worker runs the rest meanwhile, one file at
 * a time, then both do. Every process a test starts is killed when its file ends, and the run fails
 * if one is still alive at the end (test/setup, test/helpers/processes.ts).
 */
const REAL_TIME = ['test/live-transcription-e2e.test.ts', 'test/daemon-ipc.test.ts', 'test/speech-accuracy.test.ts', 'test/readme-setup.test.ts'];
const LANE = 'test/real-time-lane.test.ts';

/** `vitest run test/daemon-ipc.test.ts`: a real-time file named on the command line runs as a file of its own. */
const named = REAL_TIME.filter((file) => process.argv.slice(2).some((arg) => !arg.startsWith('-') && arg !== 'run' && file.includes(arg.replace(/^\.\//, ''))));

/** The lane starts first: queued last, it would start when the rest is done, and the run would wait for it alone. */
class LaneFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isLane = (spec: TestSpecification) => spec.moduleId.endsWith(LANE);
    return [...sorted.filter(isLane), ...sorted.filter((spec) => !isLane(spec))];
  }
}

const shared = {
  // Real ffmpeg runs in real time with short segments: give such tests room.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  globalSetup: ['test/setup/global.ts'],
  setupFiles: ['test/setup/processes.ts'],
  // One worker for the lane, one for the rest (the two projects share them: same maxWorkers).
  maxWorkers: 2,
};

export default defineConfig({
  test: {
    sequence: { sequencer: LaneFirst },
    projects: [
      { test: { ...shared, name: 'parallel', include: ['test/**/*.test.ts'], exclude: [...REAL_TIME, LANE] } },
      // At most three real-time tests at once (each runs ffmpeg and a decoder at the pace of audio).
      { test: { ...shared, name: 'real-time', include: named.length > 0 ? named : [LANE], maxConcurrency: 3 } },
    ],
  },
});

import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Vitest 4 runs cpus − 1 files at once by default: one at a time on the 2-core CI machine. Here the
 * files run three at a time (many wait on real time: stalls, timeouts, audio played at its pace, and
 * leave a core idle; 3 on 2 busy cores took 242 s where 2 took 305–328 s, 4 starved a live decoder),
 * except the two whose assertions depend on real time (words on screen within seconds of being
 * said, a bash client that gives up after 1.5 s): those run one after another, after the rest, with
 * the machine to themselves (the real-time project's groupOrder). Every process a test starts is
 * killed when its file ends, and the run fails if one is still alive at the end (test/setup,
 * test/helpers/processes.ts).
 */
const REAL_TIME = ['test/live-transcription-e2e.test.ts', 'test/daemon-ipc.test.ts'];

/**
 * The longest files (20–50 s each, mostly audio played at real time), started first: started last,
 * one of them would run alone at the end. Vitest orders by the durations it cached in an earlier
 * run, and without a cache (a fresh clone, as CI runs) by file size, which says nothing about time.
 * The two live-transcript files (speech-accuracy, readme-setup) are apart, so their decoders rarely
 * share the machine.
 */
const SLOW_FIRST = [
  'test/speech-accuracy.test.ts',
  'test/pulse-capture.test.ts',
  'test/openai-engine.test.ts',
  'test/capture-supervision.test.ts',
  'test/openai-e2e.test.ts',
  'test/sessions-e2e.test.ts',
  'test/daemon-record.test.ts',
  'test/transcription-capture-formats.test.ts',
  'test/logging-levels.test.ts',
  'test/transcription-e2e.test.ts',
  'test/readme-setup.test.ts',
  'test/locate-export.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = SLOW_FIRST.findIndex((file) => spec.moduleId.endsWith(file));
      return i === -1 ? SLOW_FIRST.length : i;
    };
    // Stable: within a rank (all the other files) vitest's own order stays.
    return (await super.sort(files))
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec);
  }
}

const shared = {
  // Real ffmpeg runs in real time with short segments: give such tests room.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  // A worker runs its files one after another in one process and one module cache (each file still
  // runs the setup file, with its own process mark): a fresh process and module graph per file cost
  // 20 s of CPU a run (265 → 245 s with one core busy) for no test's sake; no test relies on a
  // fresh module (the helpers' state is per file: process groups, daemons and pulse servers).
  isolate: false,
  globalSetup: ['test/setup/global.ts'],
  setupFiles: ['test/setup/processes.ts'],
};

export default defineConfig({
  test: {
    sequence: { sequencer: SlowFirst },
    projects: [
      {
        test: {
          ...shared,
          name: 'parallel',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: REAL_TIME,
          maxWorkers: 3,
        },
      },
      // After the rest (groupOrder: vitest asks for one when projects differ in maxWorkers), one file
      // at a time, at most three real-time tests at once (each runs ffmpeg and a decoder at the pace of audio).
      { test: { ...shared, name: 'real-time', sequence: { groupOrder: 1 }, include: REAL_TIME, maxWorkers: 1, maxConcurrency: 3 } },
    ],
  },
});

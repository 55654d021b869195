import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real ffmpeg runs in real time with short segments: give such tests room, and run files in
    // parallel on the 2 cores the CI machine has.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

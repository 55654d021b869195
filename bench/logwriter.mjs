// Start-up cost of the session-log writer (issue 8): how long importing it takes in a fresh Node
// process, median of `repeats`. `dist/logging/session-log.js` is what `record` loads to log.
// BENCH_BASELINE=<checkout with its own node_modules and dist/> measures that checkout's module side
// by side (e.g. the last commit with winston + rotating-file-stream), and reports baseline / this build.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO, median, round } from './lib.mjs';

const MODULE = path.join('dist', 'logging', 'session-log.js');

function importMs(root) {
  const script = `const t = performance.now(); await import(${JSON.stringify(path.join(root, MODULE))}); process.stdout.write(String(performance.now() - t));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

export async function benchLogWriter({ repeats }) {
  const roots = [{ label: 'this build', root: REPO }];
  if (process.env.BENCH_BASELINE)
    roots.push({ label: `baseline ${process.env.BENCH_BASELINE}`, root: path.resolve(process.env.BENCH_BASELINE) });
  const samples = roots.map(() => []);
  // Interleaved, so that both see the same machine load.
  for (let i = 0; i < repeats; i++) roots.forEach(({ root }, k) => samples[k].push(importMs(root)));
  const modules = roots.map(({ label }, k) => ({
    label: `${label}: ${MODULE}`,
    median_ms: round(median(samples[k]), 1),
    samples_ms: samples[k].map((v) => round(v, 1)),
  }));
  const result = { repeats, modules };
  if (modules.length === 2) result.ratio = round(modules[1].median_ms / modules[0].median_ms, 2);
  console.log(JSON.stringify({ ...result, modules: modules.map(({ samples_ms, ...m }) => m) }, null, 2));
  return result;
}

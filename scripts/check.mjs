// What `npm test` runs before vitest: the build, the type check and the format check, side by side (each is one
// Node process on one core; one after another they took ~23 s of a test run, side by side ~14.5 s). The build emits
// without checking types (`tsc --noCheck`): the type check of tsconfig.test.json covers src/ and test/ at once, so
// src/ is checked once, not twice. Each command's output is printed whole when it ends; the exit code is 1 if any
// failed or outlived its deadline.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEPS = [
  ['build', 'tsc -p tsconfig.json --noCheck && node scripts/bundle.mjs'],
  ['types', 'npm run -s lint:types'],
  ['format', 'npm run -s lint:format'],
];
/** Each step takes ~15 s on a loaded 2-core machine; one that takes 10 minutes is hung. */
const DEADLINE_MS = 10 * 60 * 1000;
// The project's own tsc, as `npm run` would find it (npx would fetch an unrelated package were typescript missing).
const env = { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}` };

function run([name, command]) {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output = [];
    child.stdout.on('data', (data) => output.push(data));
    child.stderr.on('data', (data) => output.push(data));
    // The shell and what it started are one process group (detached): the deadline ends them all.
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), DEADLINE_MS);
    let reported = false;
    const report = (failure) => {
      if (reported) return; // 'error' may be followed by 'close'
      reported = true;
      clearTimeout(timer);
      process.stdout.write(`${failure ? `FAILED (${failure})` : 'ok'}: ${name} (${command})\n${Buffer.concat(output).toString()}`);
      resolve(!failure);
    };
    child.on('error', (error) => report(error.message));
    child.on('close', (code, signal) => report(signal ? `killed by ${signal}` : code !== 0 ? `exit code ${code}` : undefined));
  });
}

const results = await Promise.all(STEPS.map(run));
if (results.includes(false)) process.exitCode = 1;

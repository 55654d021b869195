// What `npm test` runs: the build, then the tests beside the type check and the format check.
// The build comes first: the tests run the built CLI. It emits without checking types (`tsc --noCheck`): the type
// check of tsconfig.test.json covers src/ and test/ at once, so src/ is checked once, not twice.
// The two checks run at the lowest priority (nice 19) beside vitest: they take the CPU the tests leave idle (the
// real-time files at the end use under half a core), where before the tests they added ~10 s to every run. Their
// output is printed when vitest ends. The exit code is 1 if any step failed or outlived its deadline.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The project's own tsc and vitest, as `npm run` would find them (npx would fetch an unrelated package were one missing).
const BIN = path.join(ROOT, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` };

/** A build or check takes ~15 s on a loaded 2-core machine, the tests ~4 min: ten times that is hung. */
const BUILD = { name: 'build', command: 'tsc -p tsconfig.json --noCheck && node scripts/bundle.mjs', deadlineMs: 10 * 60_000 };
const CHECKS = [
  { name: 'types', command: 'nice -n 19 npm run -s lint:types', deadlineMs: 10 * 60_000 },
  { name: 'format', command: 'nice -n 19 npm run -s lint:format', deadlineMs: 10 * 60_000 },
];
// Not through a shell: a stop's SIGINT must reach vitest itself, whose handlers end its workers and kill what
// the tests started (test/setup/global.ts), before anything here takes the step for ended.
const TESTS = { name: 'tests', file: path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), args: ['run'], deadlineMs: 40 * 60_000 };

const running = new Set();

/**
 * Runs one step as the leader of its own process group: a stop or the deadline ends everything it started,
 * and so does its end (a vitest worker outliving an interrupted vitest). A check's output is kept for the end;
 * the tests write to the terminal as they go. A stop asks vitest to end (SIGINT, as Ctrl-C does) and ends a
 * build or check at once.
 */
function run(step) {
  const quiet = step.file === undefined;
  return new Promise((resolve) => {
    const options = { cwd: ROOT, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', detached: true };
    const child = quiet ? spawn(step.command, { ...options, shell: true }) : spawn(process.execPath, [step.file, ...step.args], options);
    const output = [];
    child.stdout?.on('data', (data) => output.push(data));
    child.stderr?.on('data', (data) => output.push(data));
    const stop = (signal) => killGroup(child.pid, quiet ? 'SIGKILL' : signal);
    running.add(stop);
    const timer = setTimeout(() => stop('SIGKILL'), step.deadlineMs);
    let reported = false;
    const report = (failure) => {
      if (reported) return; // 'error' may be followed by 'close'
      reported = true;
      running.delete(stop);
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL');
      const title = `${step.name} (${step.command ?? `vitest ${step.args.join(' ')}`})`;
      resolve({ ok: !failure, text: `${failure ? `FAILED (${failure})` : 'ok'}: ${title}\n${Buffer.concat(output).toString()}` });
    };
    child.on('error', (error) => report(error.message));
    child.on('close', (code, signal) => report(signal ? `killed by ${signal}` : code !== 0 ? `exit code ${code}` : undefined));
  });
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// Stopped (Ctrl-C reaches this script's process group only; a CI timeout): the steps are stopped, and this
// script ends when they have, or 20 s later with what is left of them killed.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.exitCode = 1;
    for (const stop of running) stop('SIGINT');
    setTimeout(() => {
      for (const stop of running) stop('SIGKILL');
      process.exit(1);
    }, 20_000).unref();
  });
}

const build = await run(BUILD);
process.stdout.write(build.text);
if (!build.ok) process.exit(1);
const [tests, ...checks] = await Promise.all([run(TESTS), ...CHECKS.map(run)]);
for (const step of [...checks, tests]) process.stdout.write(step.text);
if (!tests.ok || checks.some((check) => !check.ok)) process.exitCode = 1;

// What `npm test` runs before vitest: the build, the type check and the format check, side by side (each is one
// Node process on one core; one after another they took ~23 s of a test run, side by side ~12 s). The build emits
// without checking types (`tsc --noCheck`): the type check of tsconfig.test.json covers src/ and test/ at once, so
// src/ is checked once, not twice. Each command's output is printed whole when it ends; the exit code is 1 if any failed.
import { spawn } from 'node:child_process';

const STEPS = [
  ['build', 'npx tsc -p tsconfig.json --noCheck && node scripts/bundle.mjs'],
  ['types', 'npm run -s lint:types'],
  ['format', 'npm run -s lint:format'],
];

function run([name, command]) {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (data) => output.push(data));
    child.stderr.on('data', (data) => output.push(data));
    child.on('close', (code, signal) => {
      const text = Buffer.concat(output).toString();
      const failed = code !== 0;
      process.stdout.write(`${failed ? 'FAILED' : 'ok'}: ${name} (${command})${signal ? `, killed by ${signal}` : ''}\n${text}`);
      resolve(!failed);
    });
  });
}

const results = await Promise.all(STEPS.map(run));
if (results.includes(false)) process.exitCode = 1;

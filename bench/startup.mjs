// Start-up time of quick commands (issue 7, "fast start"): `echolog --version` and `echolog status` against
// `node -e 0`, measured side by side in one run. Each round runs every command once, in an order that
// alternates (A B C, C B A, …) so drift in the machine's load hits all alike; the median wall time of each
// (spawn → exit, stdout/stderr drained) over ≥ 9 rounds is reported, and the ratio to `node -e 0`.
// `status` runs in a sandbox holding a few real sessions (recorded first, 1 s each).
// BENCH_STARTUP_BASELINE=<another bin/echolog> measures an older build in the same rounds too.
// BENCH_STARTUP_KEEP_ENV=NAME[,NAME…] copies those variables of the caller's environment into the sandbox's
// (e.g. NODE_EXTRA_CA_CERTS, which this machine's shell sets and which alone adds ~40 ms to every Node start).
import { BIN, SINE, makeSandbox, median, round, run } from './lib.mjs';

// Issue 19 tightened status from 2.5× to 2.0×.
const TARGETS = { version: 2.0, status: 2.0 };

export async function benchStartup({ rounds = 11 } = {}) {
  const sandbox = makeSandbox('startup');
  const kept = (process.env.BENCH_STARTUP_KEEP_ENV ?? '').split(',').filter((name) => name && process.env[name] !== undefined);
  for (const name of kept) sandbox.env[name] = process.env[name];
  try {
    for (let i = 0; i < 3; i++) {
      const args = ['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '1', '--segment-time', '1', '--no-realtime', '-q'];
      const result = await run(BIN, args, { cwd: sandbox.home, env: sandbox.env });
      if (result.code !== 0) throw new Error(`echolog record exited ${result.code}: ${result.stderr}`);
    }
    const commands = [
      { name: 'node', command: process.execPath, args: ['-e', '0'] },
      { name: 'version', command: BIN, args: ['--version'] },
      { name: 'status', command: BIN, args: ['status'] },
    ];
    const baseline = process.env.BENCH_STARTUP_BASELINE;
    if (baseline) {
      commands.push(
        { name: 'baseline_version', command: baseline, args: ['--version'] },
        { name: 'baseline_status', command: baseline, args: ['status'] },
      );
    }
    const times = Object.fromEntries(commands.map((c) => [c.name, []]));
    // One unmeasured round warms the file cache for every command alike.
    for (let round = -1; round < Math.max(9, rounds); round++) {
      const order = round % 2 === 0 ? commands : [...commands].reverse();
      for (const c of order) {
        const result = await run(c.command, c.args, { cwd: sandbox.home, env: sandbox.env });
        if (result.code !== 0) throw new Error(`${c.command} ${c.args.join(' ')} exited ${result.code}: ${result.stderr}`);
        if (round >= 0) times[c.name].push(result.wallMs);
      }
    }
    const medians = Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, round(median(ms), 1)]));
    const ratio = (name) => round(medians[name] / medians.node, 2);
    const ratios = Object.fromEntries(
      Object.keys(medians)
        .filter((n) => n !== 'node')
        .map((n) => [n, ratio(n)]),
    );
    return {
      rounds: times.node.length,
      median_ms: medians,
      ratio_to_node: ratios,
      targets: TARGETS,
      met: ratios.version <= TARGETS.version && ratios.status <= TARGETS.status,
      baseline: baseline ?? null,
      kept_env: kept,
    };
  } finally {
    sandbox.cleanup();
  }
}

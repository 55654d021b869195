// Preloaded into echolog by `BENCH_SOAK_HEAP=1 node bench/run.mjs soak` (node --expose-gc --import):
// on SIGUSR2 it forces a full GC and appends process.memoryUsage() as one JSON line to
// $BENCH_SOAK_HEAP_FILE. The heap used after a full GC tells what is kept from what is only not
// collected yet (RSS follows V8's heap sizing, which moves by tens of MB on its own).
import fs from 'node:fs';

const file = process.env.BENCH_SOAK_HEAP_FILE;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    fs.appendFileSync(file, `${JSON.stringify(process.memoryUsage())}\n`);
  });
}

// The control for the latency benchmark: the least a Node process can do to turn a segment-list row
// into a log line. It watches the same session folder as echolog and appends one line per row to
// its own log, synchronously. Measured side by side with echolog in the same run, it shows how much
// of echolog's latency is the machine (scheduling, inotify, page cache) rather than echolog.
// argv: <session dir> <output log>
import fs from 'node:fs';
import path from 'node:path';

const [dir, out] = process.argv.slice(2);
const list = path.join(dir, 'segments.csv');
let offset = 0;
let pending = '';

function readNew() {
  let fd;
  try {
    fd = fs.openSync(list, 'r');
  } catch {
    return;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, offset);
      if (n <= 0) break;
      offset += n;
      pending += buffer.toString('utf8', 0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
  const cut = pending.lastIndexOf('\n');
  if (cut < 0) return;
  const rows = pending.slice(0, cut).split('\n').filter(Boolean);
  pending = pending.slice(cut + 1);
  if (rows.length) fs.appendFileSync(out, rows.map((row) => `chunk_created file=${row.split(',')[0]}\n`).join(''));
}

fs.watch(dir, (_event, name) => {
  if (name === 'segments.csv' || name === null) readNew();
});
readNew();
process.stdout.write('ready\n');
// Stops when the bench closes our stdin.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

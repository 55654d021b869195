// The control for bench/daemon.mjs: the least a file-based responder can do. It watches a request
// dir and, for each `{id}.json`, reads it, removes it and writes `{id, results: []}` atomically
// (temp + rename) into the response dir. What it costs is what the machine and the file system
// cost by themselves. Usage: node reference-responder.mjs <requests dir> <responses dir>
import fs from 'node:fs';
import path from 'node:path';

const [requests, responses] = process.argv.slice(2);
const busy = new Set();

function take(name) {
  if (!name.endsWith('.json') || busy.has(name)) return;
  const file = path.join(requests, name);
  let request;
  try {
    request = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  busy.add(name);
  fs.rmSync(file, { force: true });
  const out = path.join(responses, `${request.id}.json`);
  fs.writeFileSync(
    `${out}.tmp`,
    JSON.stringify({ id: request.id, results: [], timestamp: Date.now() / 1000, device: 'cpu', session_active: true }),
  );
  fs.renameSync(`${out}.tmp`, out);
  busy.delete(name);
}

fs.watch(requests, (_event, name) => name && take(name));
for (const name of fs.readdirSync(requests)) take(name);
process.stdout.write('ready\n');

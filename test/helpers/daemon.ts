import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, processesMatching } from './chunks.js';
import { execFileAsync, runCli, waitFor, type CliResult, type RunPlace } from './cli.js';

/**
 * Helpers for tests of the session daemon: starting real `echolog daemon`s and making sure none
 * outlives the test file, and independent clients of the seed-004 protocol: the seed's own bash
 * and Python examples (test/fixtures/seed-004) and a few lines written here from the seed's
 * text. None of them uses echolog's client code.
 */
const SEED = fileURLToPath(new URL('../fixtures/seed-004/', import.meta.url));

/** The files a daemon on `root` uses, by the seed's names (spelled out here, not taken from src). */
export function seedPaths(root: string) {
  return {
    requests: path.join(root, 'speech_session_requests'),
    responses: path.join(root, 'speech_session_responses'),
    status: path.join(root, 'session_daemon_status.json'),
    marker: path.join(root, 'session_daemon_active'),
    log: path.join(root, 'session_daemon.log'),
  };
}

const started = new Set<number>();

/** `echolog daemon start` (pocketsphinx, detached); remembers the pid for `killDaemons`. */
export async function startDaemon(place: RunPlace, root: string | undefined, extra: string[] = []): Promise<CliResult & { pid: number }> {
  const args = ['daemon', 'start', '--engine', 'pocketsphinx', ...(root ? ['--ipc-root', root] : []), ...extra];
  const result = await runCli(args, place);
  const pid = Number(/pid (\d+)/.exec(result.stdout)?.[1] ?? 0);
  if (pid) started.add(pid);
  return { ...result, pid };
}

export function track(pid: number): void {
  started.add(pid);
}

/** Ends every daemon a test started, and any daemon whose command line names `marker` (a sandbox root). */
export async function killDaemons(...markers: string[]): Promise<void> {
  const pids = new Set([...started, ...markers.flatMap((m) => processesMatching('daemon', '--foreground', m))]);
  for (const pid of pids) {
    try {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await waitFor(() => [...pids].every((pid) => !isAlive(pid)), 5000, 'daemons to end');
  started.clear();
}

export function readJsonFile<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

let counter = 0;

/** A seed-004 client in a few lines: request `{id, audio_file, timestamp}`, poll for `{id}.json`, read it, delete it. */
export async function seedRequest(root: string, audioFile: string, timeoutMs = 15_000, id = `${Date.now()}${String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0')}${counter++}`): Promise<{ id: string; response: Record<string, unknown>; ms: number }> {
  const paths = seedPaths(root);
  const t0 = Date.now();
  fs.writeFileSync(path.join(paths.requests, `${id}.json`), JSON.stringify({ id, audio_file: audioFile, timestamp: Date.now() / 1000 }));
  const responseFile = path.join(paths.responses, `${id}.json`);
  // A half-written response would throw here: the daemon writes them atomically.
  const response = await waitFor<Record<string, unknown>>(() => (fs.existsSync(responseFile) ? readJsonFile(responseFile) : undefined), timeoutMs, `response ${id}`);
  const ms = Date.now() - t0;
  fs.rmSync(responseFile);
  return { id, response, ms };
}

/** The seed's client text, with its `/tmp/speech_session_` paths moved to `root` (unchanged for /tmp). */
function seedClient(name: 'client.sh' | 'client.py', root: string): string {
  const text = fs.readFileSync(path.join(SEED, name), 'utf8');
  return root === '/tmp' ? text : text.replaceAll('/tmp/speech_session_', `${root}/speech_session_`);
}

/** Runs the seed's bash client on `audio`; its stdout is the response JSON. */
export async function runSeedBash(root: string, audio: string): Promise<string> {
  const { stdout } = await execFileAsync('bash', ['-c', seedClient('client.sh', root), 'client.sh', audio]);
  return stdout;
}

/** Runs the seed's Python `transcribe_audio(audio)`; returns its results. */
export async function runSeedPython(root: string, audio: string): Promise<string[]> {
  const client = seedClient('client.py', root).split('# Usage')[0]!;
  const { stdout } = await execFileAsync('python3', ['-c', `${client}\nimport sys\nprint(json.dumps(transcribe_audio(sys.argv[1])))`, audio]);
  return JSON.parse(stdout) as string[];
}

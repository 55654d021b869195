import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, processesMatching } from './chunks.js';
import { execFileAsync, REPO, runCli, waitFor, type CliResult, type RunPlace } from './cli.js';

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

/**
 * The seed's bash client gives a request 1.5 s (each 0.1 s sleep counts 1 of its TIMEOUT=15), which
 * a decode on a loaded machine can exceed: as root, daemons run at a higher priority.
 */
const PRIORITY = process.getuid?.() === 0 ? ['nice', '-n', '-10'] : [];

/** `echolog daemon start` (pocketsphinx, detached); remembers the pid for `killDaemons`. */
export async function startDaemon(place: RunPlace, root: string | undefined, extra: string[] = []): Promise<CliResult & { pid: number }> {
  const args = ['daemon', 'start', '--engine', 'pocketsphinx', ...(root ? ['--ipc-root', root] : []), ...extra];
  const result = await runCli(args, { ...place, via: [...(place.via ?? []), ...PRIORITY] });
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
export async function seedRequest(
  root: string,
  audioFile: string,
  timeoutMs = 15_000,
  id = `${Date.now()}${String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0')}${counter++}`,
): Promise<{ id: string; response: Record<string, unknown>; ms: number }> {
  const paths = seedPaths(root);
  const t0 = Date.now();
  fs.writeFileSync(path.join(paths.requests, `${id}.json`), JSON.stringify({ id, audio_file: audioFile, timestamp: Date.now() / 1000 }));
  const responseFile = path.join(paths.responses, `${id}.json`);
  // A half-written response would throw here: the daemon writes them atomically.
  const response = await waitFor<Record<string, unknown>>(
    () => (fs.existsSync(responseFile) ? readJsonFile(responseFile) : undefined),
    timeoutMs,
    `response ${id}`,
  );
  const ms = Date.now() - t0;
  fs.rmSync(responseFile);
  return { id, response, ms };
}

/** The seed's client text, with its `/tmp/speech_session_` paths moved to `root` (unchanged for /tmp). */
function seedClient(name: 'client.sh' | 'client.py', root: string): string {
  const text = fs.readFileSync(path.join(SEED, name), 'utf8');
  return root === '/tmp' ? text : text.replaceAll('/tmp/speech_session_', `${root}/speech_session_`);
}

/** `command args` run after `prefix` (e.g. PrivateTmp.enter), or alone. */
function prefixed(prefix: string[], command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const [first, ...rest] = [...prefix, command, ...args];
  return execFileAsync(first!, rest);
}

/** Runs the seed's bash client on `audio`; its stdout is the response JSON. `prefix` runs it in a PrivateTmp. */
export async function runSeedBash(root: string, audio: string, prefix: string[] = []): Promise<string> {
  // Its 1.5 s can still be too short under load (see PRIORITY): "Request timeout" gets three tries.
  for (let attempt = 1; ; attempt++) {
    try {
      return (await prefixed(prefix, 'bash', ['-c', seedClient('client.sh', root), 'client.sh', audio])).stdout;
    } catch (error) {
      if (attempt === 3 || !String((error as { stdout?: string }).stdout).includes('Request timeout')) throw error;
    }
  }
}

/** Runs the seed's Python `transcribe_audio(audio)`; returns its results. `prefix` runs it in a PrivateTmp. */
export async function runSeedPython(root: string, audio: string, prefix: string[] = []): Promise<string[]> {
  const client = seedClient('client.py', root).split('# Usage')[0]!;
  const { stdout } = await prefixed(prefix, 'python3', [
    '-c',
    `${client}\nimport sys\nprint(json.dumps(transcribe_audio(sys.argv[1])))`,
    audio,
  ]);
  return JSON.parse(stdout) as string[];
}

export interface PrivateTmp {
  /** An argv prefix that runs a command inside, with /tmp as its working directory. */
  enter: string[];
  /** Ends the namespace's holder; the tmpfs goes with the namespace's last process. */
  close: () => Promise<void>;
}

/**
 * A /tmp of its own: a fresh tmpfs mounted on /tmp in a private mount namespace (`unshare -m`, root
 * only), holding copies of `files` (all in one folder) under their names. The seed's clients, which
 * hardcode /tmp/speech_session_*, run there unmodified, whatever daemons or files other suites have
 * in the real /tmp, and nothing is left in it. The holder is a `cat` on a pipe from this process, so
 * the namespace also ends if the test process dies.
 *
 * The tmpfs is filled where it is first mounted (a folder beside `files`) and only then laid over
 * /tmp, so a project cloned under /tmp (as CI clones it) is bound back in at its own path first.
 */
export async function privateTmp(files: string[]): Promise<PrivateTmp> {
  const folder = path.dirname(files[0]!);
  const staging = fs.mkdtempSync(path.join(folder, 'private-tmp-'));
  const project = path.resolve(REPO);
  const script = [
    'set -e',
    'staging=$1 project=$2; shift 2',
    'mount -t tmpfs -o size=64m,mode=1777 echolog-test-tmp "$staging"',
    'cp -- "$@" "$staging/"',
    'case "$project" in /tmp/*) mkdir -p "$staging${project#/tmp}" && mount --bind "$project" "$staging${project#/tmp}" ;; esac',
    'mount --rbind "$staging" /tmp',
    'echo ready',
    'exec cat',
  ].join('\n');
  const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', staging, project, ...files], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let said = '';
  holder.stdout.on('data', (d: Buffer) => (said += d.toString()));
  holder.stderr.on('data', (d: Buffer) => (said += d.toString()));
  await waitFor(() => said.includes('ready') || holder.exitCode !== null, 10_000, 'the private /tmp');
  if (!said.includes('ready')) throw new Error(`no private /tmp: ${said}`);
  return {
    enter: ['nsenter', `--target=${holder.pid}`, '--mount', '--wd=/tmp', '--'],
    close: async () => {
      holder.stdin.end();
      await waitFor(() => holder.exitCode !== null || holder.signalCode !== null, 5000, 'the private /tmp to end');
    },
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The house's rule (issue 21): lower layers never import higher ones, so no two folders of src/ import each
// other, even through others, and no two files do. Type-only and lazy imports count too: a cycle of types is
// still two folders that cannot be understood one without the other.
const SRC = path.resolve('src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/**
 * The floors of the house, bottom up, as README.md's layout table gives them: a file may import its own floor
 * and those below, never one above (a folder's sub-folders are on its floor). Files directly in src/ are the
 * ground, except the entry, which is the roof.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['(src)'],
  ['files'],
  ['config', 'process'],
  ['logging'],
  ['audio', 'recorder'],
  ['store'],
  ['capture'],
  ['models', 'ipc'],
  ['transcription'],
  ['daemon', 'recording'],
  ['sessions'],
  ['cli'],
  ['index.ts'],
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** src-relative file → the src-relative files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = fs.readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) =>
      path.relative(SRC, path.resolve(path.dirname(file), (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts'))),
    );
    graph.set(path.relative(SRC, file), targets);
  }
  return graph;
}

/** The strongly connected components of more than one node (Tarjan), each sorted: the cycles. */
export function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** A file's folder; a file directly in src/ (the entry, errors, version) is a node of its own. */
function folderOf(file: string): string {
  return path.dirname(file) === '.' ? file : path.dirname(file);
}

describe('the house: imports run one way, and each job has one place', () => {
  const files = importGraph();

  it('no import cycle between folders of src/ (sub-folders are folders of their own)', () => {
    const folders = new Map<string, Set<string>>();
    const edges: Array<[string, string]> = [];
    for (const [file, targets] of files) {
      for (const target of targets) {
        const [from, to] = [folderOf(file), folderOf(target)];
        if (from === to) continue;
        if (!folders.has(from)) folders.set(from, new Set());
        folders.get(from)!.add(to);
        edges.push([file, target]);
      }
    }
    const cycles = cyclesOf(folders);
    // Name the imports that make each cycle, so the failure says what to move.
    const culprits = cycles.map((cycle) => ({
      folders: cycle,
      imports: edges.filter(([from, to]) => cycle.includes(folderOf(from)) && cycle.includes(folderOf(to))),
    }));
    expect(culprits).toEqual([]);
  });

  it("every import goes to the same floor or one below (README.md's layout)", () => {
    const floorOf = (file: string): number => {
      const top = file === 'index.ts' ? 'index.ts' : path.dirname(file) === '.' ? '(src)' : file.split(path.sep)[0]!;
      const floor = FLOORS.findIndex((folders) => folders.includes(top));
      if (floor < 0) throw new Error(`${file}: its folder is on no floor of FLOORS (add it there and to README.md's layout)`);
      return floor;
    };
    const upward = [...files].flatMap(([file, targets]) =>
      targets.filter((target) => floorOf(target) > floorOf(file)).map((target) => `${file} → ${target}`),
    );
    expect(upward).toEqual([]);
  });

  it('no import cycle between files', () => {
    expect(cyclesOf(new Map([...files].map(([file, targets]) => [file, new Set(targets)])))).toEqual([]);
  });

  it('only process/ starts processes and takes the stop signals; only files/paths.ts asks for the home folder', () => {
    const texts = new Map(sourceFiles(SRC).map((file) => [path.relative(SRC, file), fs.readFileSync(file, 'utf8')]));
    const offenders = (pattern: RegExp, allowed: (file: string) => boolean): string[] =>
      [...texts].filter(([file, text]) => pattern.test(text) && !allowed(file)).map(([file]) => file);
    expect(offenders(/['"](node:)?child_process['"]/, (file) => file.startsWith('process/'))).toEqual([]);
    expect(offenders(/process\.(on|once|addListener|prependListener)\(\s*['"]SIG/, (file) => file === 'process/stop-signals.ts')).toEqual(
      [],
    );
    expect(offenders(/\bhomedir\b|env\.HOME\b/, (file) => file === 'files/paths.ts')).toEqual([]);
  });

  it('no line of src/ runs past 160 characters (prettier breaks code at 140; strings and comments are broken by hand)', () => {
    const long = sourceFiles(SRC).flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.length > 160 ? [`${path.relative(SRC, file)}:${i + 1}`] : [])),
    );
    expect(long).toEqual([]);
  });

  it('sees a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c']]);
    expect(files.get('index.ts')?.length).toBeGreaterThan(0);
  });
});

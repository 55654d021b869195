import fs from 'node:fs';
import path from 'node:path';
import { parse as parseShell } from 'shell-quote';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandbox, onlySessionDir, readSessionLog, REPO, runCli } from './helpers/cli.js';

/**
 * README's first command (issue 18 §3), exactly as written there: it records the speech sample
 * that ships in the repo at real time through the live path, prints transcript lines, and leaves
 * transcript files with words. `npm ci && npm run build` has run already (`npm test` builds).
 */
const box = makeSandbox();
afterAll(() => box.cleanup());

/** The echolog part of the first line of the Set up section's first sh block. */
function readmeRecordArgs(): string[] {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const setUp = readme.slice(readme.indexOf('\n## Set up\n'));
  const block = /```sh\n([^\n]*)\n/.exec(setUp);
  if (!block) throw new Error('README has no sh block under "## Set up"');
  const steps = block[1]!.split('&&').map((step) => step.trim());
  expect(steps.slice(0, 2)).toEqual(['npm ci', 'npm run build']);
  const words = parseShell(steps[2]!);
  expect(words[0]).toBe('./bin/echolog');
  return words.slice(1).map(String);
}

describe("README's first command", () => {
  it('records the shipped speech sample live: transcript lines on screen, transcript files with words', async () => {
    const args = readmeRecordArgs();
    const input = args[args.indexOf('--input') + 1]!;
    expect(fs.statSync(path.join(REPO, input)).size).toBeLessThanOrEqual(300 * 1024);
    expect(fs.existsSync(path.join(REPO, input.replace(/\.[a-z0-9]+$/, '.README.md')))).toBe(true);
    // As a newcomer runs it: from the clone, with pocketsphinx installed and no whisper model.
    const result = await runCli(args, { ...box, cwd: REPO }, { ECHOLOG_ENGINE: 'auto', CI: '1' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const screenLines = result.stdout.split('\n').filter((line) => /^\[\d\d:\d\d:\d\d\] \S+/.test(line));
    expect(screenLines.length).toBeGreaterThanOrEqual(1);
    const dir = onlySessionDir(box.recordings);
    // The live path transcribed it, as it was captured (not per chunk after the fact).
    const transcribed = readSessionLog(dir).filter((l) => l.message === 'chunk_transcribed');
    expect(transcribed.length).toBeGreaterThan(0);
    expect(transcribed.every((l) => l.fields.mode === 'live')).toBe(true);
    const words = fs.readFileSync(path.join(dir, 'transcript.txt'), 'utf8').match(/[a-z']+/g) ?? [];
    expect(words.length).toBeGreaterThanOrEqual(10);
    expect(words).toEqual(expect.arrayContaining(['john', 'consider', 'young', 'man']));
    for (const file of ['transcript.json', 'transcript.srt', 'transcript.vtt'])
      expect(fs.readFileSync(path.join(dir, file), 'utf8')).toContain('consider');
  }, 120_000);
});

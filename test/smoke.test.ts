import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandbox, onlySessionDir, readSessionLog, runCli, SINE } from './helpers/cli.js';

describe('echolog record (smoke)', () => {
  const sandbox = makeSandbox();
  afterAll(() => sandbox.cleanup());

  it('records a lavfi sine into chunks and logs start, chunks and stop', async () => {
    const result = await runCli(['record', '--input-format', 'lavfi', '--input', SINE, '--duration', '3', '--segment-time', '1', '--no-realtime'], sandbox);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = onlySessionDir(sandbox.recordings);
    const log = readSessionLog(dir);
    expect(log[0]?.message).toBe('session_start');
    expect(log.at(-1)?.message).toBe('session_stop');
    expect(log.at(-1)?.fields.reason).toBe('duration_reached');
    const chunks = log.filter((l) => l.message === 'chunk_created');
    expect(chunks.map((c) => c.fields.file)).toEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.wav')).sort());
    for (const chunk of chunks) expect(Number(chunk.fields.size_bytes)).toBe(fs.statSync(path.join(dir, chunk.fields.file!)).size);
  });
});

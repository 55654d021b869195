import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, processesMatching, readManifestSync } from './helpers/chunks.js';
import { exitOf, makeSandbox, runCli, SINE, startCli, waitFor } from './helpers/cli.js';

const LAVFI = ['--input-format', 'lavfi', '--input', SINE];
const box = makeSandbox();
afterAll(() => box.cleanup());

describe('echolog status and the one-session rule', () => {
  it('shows the recording session and its log; refuses a second record; then shows the last session', async () => {
    const idle = await runCli(['status'], box);
    expect(idle.code).toBe(0);
    expect(idle.stdout).toMatch(/not recording; no sessions/);

    const child = startCli(['record', ...LAVFI, '--segment-time', '1', '--session-id', 'live'], box);
    const dir = path.join(box.recordings, 'live');
    await waitFor(() => (readManifestSync(dir)?.stats.chunks ?? 0) >= 1, 20_000, 'the first chunk logged');
    const logPath = path.join(dir, 'session.log');
    const ffmpegPid = readManifestSync(dir)!.ffmpeg_pid!;
    expect(isAlive(ffmpegPid)).toBe(true);
    expect(processesMatching('orphan-watchdog.js', String(ffmpegPid))).toHaveLength(1);

    const text = await runCli(['status'], box);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('recording: live');
    expect(text.stdout).toContain(`pid: ${child.pid}`);
    expect(text.stdout).toMatch(/^chunks: [1-9]\d*$/m);
    expect(text.stdout).toMatch(/^elapsed: /m);
    expect(text.stdout).toContain(`log: ${logPath}\n`);

    const json = await runCli(['status', '--json'], box);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { active: { session_id: string; pid: number; log_path: string; stats: { chunks: number } } };
    expect(report.active).toMatchObject({ session_id: 'live', pid: child.pid, log_path: logPath });
    expect(report.active.stats.chunks).toBeGreaterThanOrEqual(1);

    const second = await runCli(['record', ...LAVFI, '--duration', '1', '--no-realtime', '--session-id', 'second'], box);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('live');
    expect(second.stderr).toMatch(/already recording/);
    expect(fs.readdirSync(box.recordings).filter((name) => !name.startsWith('.'))).toEqual(['live']);

    child.kill('SIGINT');
    expect((await exitOf(child)).code).toBe(130);
    expect(isAlive(ffmpegPid)).toBe(false);
    const after = await runCli(['status'], box);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('not recording');
    expect(after.stdout).toContain('last session: live (completed, user_interrupt)');
    expect(after.stdout).toContain(`log: ${logPath}`);
    const afterJson = JSON.parse((await runCli(['status', '--json'], box)).stdout) as { active: unknown; last: { session_id: string; log_path: string } };
    expect(afterJson.active).toBeNull();
    expect(afterJson.last).toMatchObject({ session_id: 'live', log_path: logPath });
  });
});

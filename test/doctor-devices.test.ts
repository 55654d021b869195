import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ffmpegSourcesError,
  parseAvfoundationDevices,
  parseDshowDevices,
  parseFfmpegSources,
  parsePactlDefaultSource,
  parsePactlSources,
} from '../src/capture/device-list.js';
import { formatDevices } from '../src/cli/devices-command.js';
import { pulseSocketCandidates } from '../src/capture/pulse-server.js';
import { formatDoctor } from '../src/cli/doctor-command.js';
import { runCli, sandboxPool } from './helpers/cli.js';
import { hasPulse, killAllPulse, startPulse } from './helpers/pulse.js';

const fixture = (name: string): string => fs.readFileSync(new URL(`./fixtures/devices/${name}`, import.meta.url), 'utf8');

describe('where libpulse looks for the server', () => {
  const facts = { home: '/home/me', machineId: 'abc123' };
  it('PULSE_RUNTIME_PATH, else $XDG_RUNTIME_DIR/pulse, else the runtime link in the config dir; then the system socket', () => {
    expect(pulseSocketCandidates({ PULSE_RUNTIME_PATH: '/r', XDG_RUNTIME_DIR: '/run/user/1' }, facts)).toEqual([
      '/r/native',
      '/run/pulse/native',
    ]);
    expect(pulseSocketCandidates({ XDG_RUNTIME_DIR: '/run/user/1' }, facts)).toEqual(['/run/user/1/pulse/native', '/run/pulse/native']);
    expect(pulseSocketCandidates({}, facts)).toEqual(['/home/me/.config/pulse/abc123-runtime/native', '/run/pulse/native']);
    expect(pulseSocketCandidates({ XDG_CONFIG_HOME: '/cfg' }, facts)[0]).toBe('/cfg/pulse/abc123-runtime/native');
    expect(pulseSocketCandidates({ PULSE_CONFIG_PATH: '/pc' }, facts)[0]).toBe('/pc/abc123-runtime/native');
  });
});

describe('device listings (captured output, see fixtures/devices/SOURCE.md)', () => {
  it('pactl: the sources, the default from pactl info', () => {
    const defaultSource = parsePactlDefaultSource(fixture('pactl-info.txt'));
    expect(defaultSource).toBe('null.monitor');
    expect(parsePactlSources(fixture('pactl-list-short-sources.txt'), defaultSource)).toEqual([
      { format: 'pulse', name: 'null.monitor', description: 's16le 2ch 44100Hz, IDLE', isDefault: true },
    ]);
    expect(parsePactlSources(fixture('pactl-no-server.txt'), undefined)).toEqual([]);
  });
  it('ffmpeg -sources pulse: `*` marks the default; no server → no devices and the reason', () => {
    expect(parseFfmpegSources(fixture('ffmpeg-sources-pulse.txt'), 'pulse')).toEqual([
      { format: 'pulse', name: 'null.monitor', description: 'Monitor of Null Output', isDefault: true },
    ]);
    expect(parseFfmpegSources(fixture('ffmpeg-sources-pulse-no-server.txt'), 'pulse')).toEqual([]);
    expect(ffmpegSourcesError(fixture('ffmpeg-sources-pulse-no-server.txt'))).toBe('Generic error in an external library');
  });
  it('ffmpeg -sources alsa', () => {
    const devices = parseFfmpegSources(fixture('ffmpeg-sources-alsa.txt'), 'alsa');
    expect(devices.length).toBeGreaterThan(5);
    expect(devices[0]).toEqual({
      format: 'alsa',
      name: 'null',
      description: 'Discard all samples (playback) or generate zero samples (capture)',
      isDefault: false,
    });
  });
  it('avfoundation: audio devices only, as `:<name>`', () => {
    expect(parseAvfoundationDevices(fixture('avfoundation-list-devices.txt')).map((d) => d.name)).toEqual([
      ':MacBook Pro Microphone',
      ':ZoomAudioDevice',
    ]);
  });
  it('dshow: audio devices only, as `audio=<name>`', () => {
    expect(parseDshowDevices(fixture('dshow-list-devices.txt')).map((d) => d.name)).toEqual([
      'audio=Microphone Array (Realtek(R) Audio)',
      'audio=Headset Microphone (USB Audio)',
    ]);
  });
  it('formatDevices: `*` before the default, the flags that record it, the reason for an empty section', () => {
    const text = formatDevices([
      { format: 'pulse', devices: [], problem: 'PulseAudio is not running' },
      { format: 'dshow', devices: parseDshowDevices(fixture('dshow-list-devices.txt')) },
    ]);
    expect(text).toContain('pulse:\n  (none: PulseAudio is not running)\n');
    expect(text).toContain("Record one with: echolog record --input-format dshow --input 'audio=Microphone Array (Realtek(R) Audio)'");
  });
  it('formatDoctor: one line per check with its fix', () => {
    expect(
      formatDoctor([
        { status: 'ok', what: 'ffmpeg', detail: '/usr/bin/ffmpeg (PATH), version 6.1' },
        { status: 'fail', what: 'input', detail: 'cannot be opened', fix: 'pick another' },
      ]),
    ).toBe('ok    ffmpeg: /usr/bin/ffmpeg (PATH), version 6.1\nfail  input: cannot be opened — fix: pick another\n');
  });
});

const pool = sandboxPool();
afterAll(() => {
  killAllPulse();
  pool.cleanup();
});

/** The doctor line for `what`, e.g. `ok    ffmpeg: …`. */
function line(stdout: string, what: string): string {
  return stdout.split('\n').find((l) => l.slice(6).startsWith(`${what}`)) ?? `(no ${what} line in:\n${stdout})`;
}

describe('echolog doctor and devices on this machine', () => {
  it.concurrent(
    'without a PulseAudio server: doctor says PulseAudio is not running, checks the rest; exit 1 only with a failed check',
    async () => {
      const box = pool.sandbox();
      const result = await runCli(['doctor'], box);
      expect(line(result.stdout, 'ffmpeg')).toMatch(/^ok {4}ffmpeg: \/\S+ \(PATH\), version \S+$/);
      expect(line(result.stdout, 'audio server')).toMatch(
        /^warn {2}audio server: PulseAudio is not running \(no server at .*pulse\/native\).* — fix: /,
      );
      expect(line(result.stdout, 'input alsa default')).toMatch(/^(ok|warn|fail) /);
      expect(line(result.stdout, 'recordings dir')).toMatch(
        /^ok {4}recordings dir .*: created on first record; [0-9.]+ MiB free \(min_free_mb 200\)$/,
      );
      expect(line(result.stdout, 'config')).toMatch(/^ok {4}config: no config file/);
      expect(line(result.stdout, 'transcription')).toBe('ok    transcription: off (transcription.engine is none)');
      expect(result.code).toBe(/^fail /m.test(result.stdout) ? 1 : 0);
      // pocketsphinx is installed and koffi is a dev dependency: record would show partial text.
      const pocketsphinx = await runCli(['doctor'], box, { ECHOLOG_ENGINE: 'pocketsphinx' });
      expect(line(pocketsphinx.stdout, 'transcription')).toBe('ok    transcription: pocketsphinx, model en-us; partial text on');

      const devices = await runCli(['devices'], box);
      expect(devices.stdout).toContain('pulse:\n  (none: PulseAudio is not running');
      expect(devices.stdout).toMatch(/^alsa:$/m);
    },
  );

  it.concurrent('with a broken ffmpeg path: doctor fails its ffmpeg line with the path, devices exits 1 saying so', async () => {
    const box = pool.sandbox();
    const broken = { ECHOLOG_FFMPEG: '/nonexistent/ffmpeg' };
    const result = await runCli(['doctor'], box, broken);
    expect(result.code).toBe(1);
    expect(line(result.stdout, 'ffmpeg')).toMatch(
      /^fail {2}ffmpeg: ffmpeg not found: ECHOLOG_FFMPEG \/nonexistent\/ffmpeg is not an executable file/,
    );
    expect(line(result.stdout, 'input')).toMatch(/^warn {2}input .*: not opened: no working ffmpeg$/);
    const devices = await runCli(['devices'], box, broken);
    expect(devices.code).toBe(1);
    expect(devices.stderr).toContain('ECHOLOG_FFMPEG /nonexistent/ffmpeg is not an executable file');
    // An executable that is not ffmpeg is caught too.
    const notFfmpeg = await runCli(['doctor'], box, { ECHOLOG_FFMPEG: '/bin/true' });
    expect(notFfmpeg.code).toBe(1);
    expect(line(notFfmpeg.stdout, 'ffmpeg')).toMatch(/^fail {2}ffmpeg: \/bin\/true \(env\) does not say it is ffmpeg/);
  });

  it.skipIf(!hasPulse).concurrent(
    'with a private PulseAudio server: the server is found, the default input opens (the null sink is silent), devices marks the default',
    async () => {
      const box = pool.sandbox();
      await startPulse(box);
      const result = await runCli(['doctor'], box);
      expect(line(result.stdout, 'audio server')).toMatch(/^ok    audio server: PulseAudio is running \(.*\/pulse\/native\)$/);
      expect(line(result.stdout, 'input pulse default')).toMatch(
        /^warn {2}input pulse default: opens, but is silent \(-inf dBFS over [0-9.]+ s\) — fix: /,
      );
      expect(result.code, result.stdout).toBe(0);

      const devices = await runCli(['devices'], box);
      expect(devices.code, devices.stderr).toBe(0);
      expect(devices.stdout).toMatch(/^pulse:\n\* null\.monitor {2}.*\(default\)$/m);
      expect(devices.stdout).toContain('Record one with: echolog record --input-format pulse --input null.monitor');
      // The listed name is what --input takes.
      const recorded = await runCli(
        ['record', '--input-format', 'pulse', '--input', 'null.monitor', '--duration', '1', '--segment-time', '1'],
        box,
      );
      expect(recorded.code, recorded.stderr).toBe(0);
    },
  );
});

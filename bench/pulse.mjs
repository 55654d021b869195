// `node bench/run.mjs pulse`: `record --duration 10` from a private PulseAudio server (a null sink with a
// player on it) side by side with bare `ffmpeg -f pulse -i <source> -t 10`, alternating, on the same
// server: the audio each gets (samples in its WAVs) and its wall time. Issue 17 §1: echolog's audio is at
// least bare ffmpeg's, its wall time within 3 s of the duration, and no restart.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, makeSandbox, median, readLogFile, round, run } from './lib.mjs';
import { parseWavHeader, wavDurationSeconds } from '../dist/recorder/wav-header.js';

const SECONDS = 10;

function wavSeconds(file) {
  return wavDurationSeconds(parseWavHeader(fs.readFileSync(file)));
}

async function waitUntil(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function benchPulse({ repeats = 3 } = {}) {
  const box = makeSandbox('pulse');
  fs.mkdirSync(box.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  const env = { ...box.env };
  const children = [];
  try {
    children.push(
      spawn(
        'pulseaudio',
        ['-n', '--load=module-native-protocol-unix', '--load=module-null-sink', '--daemonize=no', '--exit-idle-time=-1'],
        { env, stdio: 'ignore' },
      ),
    );
    await waitUntil(() => spawnSync('pactl', ['info'], { env }).status === 0, 15_000, 'the PulseAudio server');
    const tone = path.join(box.root, 'tone.wav');
    spawnSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:sample_rate=44100:duration=${(SECONDS + 10) * repeats * 2 + 30}`,
      tone,
    ]);
    children.push(spawn('paplay', [tone], { env, stdio: 'ignore' }));
    await waitUntil(
      () => /^\d+\t/m.test(spawnSync('pactl', ['list', 'short', 'sink-inputs'], { env, encoding: 'utf8' }).stdout),
      15_000,
      'the player',
    );
    const bare = [];
    const echolog = [];
    for (let i = 0; i < repeats; i++) {
      const out = path.join(box.root, `bare-${i}.wav`);
      const b = await run(
        'ffmpeg',
        [
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'pulse',
          '-i',
          'null.monitor',
          '-t',
          String(SECONDS),
          '-ac',
          '1',
          '-ar',
          '16000',
          '-y',
          out,
        ],
        { env },
      );
      bare.push({ audio_s: round(wavSeconds(out)), wall_s: round(b.wallMs / 1000) });
      const id = `pulse-${i}`;
      const e = await run(
        BIN,
        [
          'record',
          '-q',
          '--session-id',
          id,
          '--input-format',
          'pulse',
          '--input',
          'null.monitor',
          '--duration',
          String(SECONDS),
          '--segment-time',
          '5',
          '--engine',
          'none',
        ],
        { env, cwd: box.home },
      );
      const lines = readLogFile(path.join(box.recordings, id, 'session.log')).lines;
      const stop = lines.find((l) => l.message === 'session_stop');
      echolog.push({
        exit: e.code,
        reason: stop?.fields.reason,
        audio_s: Number(stop?.fields.audio_duration_s),
        wall_s: round(e.wallMs / 1000),
        restarts: lines.filter((l) => l.message === 'capture_restart').length,
        chunks: Number(stop?.fields.chunks),
      });
    }
    const result = {
      duration_s: SECONDS,
      bare,
      echolog,
      median: {
        bare_audio_s: median(bare.map((r) => r.audio_s)),
        bare_wall_s: median(bare.map((r) => r.wall_s)),
        echolog_audio_s: median(echolog.map((r) => r.audio_s)),
        echolog_wall_s: median(echolog.map((r) => r.wall_s)),
      },
    };
    result.met =
      echolog.every((r) => r.exit === 0 && r.reason === 'duration_reached' && r.restarts === 0 && r.wall_s <= SECONDS + 3) &&
      result.median.echolog_audio_s >= result.median.bare_audio_s - 0.2;
    console.log(JSON.stringify(result, null, 2));
    return result;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    box.cleanup();
  }
}

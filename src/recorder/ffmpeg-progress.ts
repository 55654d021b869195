/**
 * ffmpeg's own end-of-output report. echolog runs ffmpeg with `-progress pipe:2` (and a long
 * `-stats_period`, so a block comes at start and at the end only): a block of `key=value` lines on
 * stderr ending in `progress=continue`, and a last one ending in `progress=end` when ffmpeg
 * finished its outputs, with `out_time_us`, the output time it reached by its own timestamps, the
 * same clock `-t` is measured on (https://ffmpeg.org/ffmpeg.html#Advanced-options, `-progress`).
 * A live device's samples may fall short of that time (PulseAudio delivers ≈ 9.4 s for `-t 10`),
 * so "ffmpeg reached -t" is read here, not computed from the samples. Also reads the input's
 * declared length (`Duration: 00:15:00.03`) from the input dump. Pure.
 */
export interface ProgressReport {
  /** ffmpeg wrote its last progress block (`progress=end`): it finished its outputs. */
  ended: boolean;
  /** The output time (seconds) of the latest block; undefined before the first. */
  outSeconds: number | undefined;
  /** The first input's declared length (seconds), if ffmpeg printed one (a file; not a device or lavfi). */
  inputSeconds: number | undefined;
}

/** A progress line: a bare `key=value`, never tagged `[level]` as ffmpeg's log lines are with `level+…`. */
const PROGRESS_LINE = /^([a-z_0-9]+)=\s*(\S*)\s*$/;
const INPUT_DURATION = /^(?:\[info\] )?\s+Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?),/;

export class FfmpegProgress {
  private report: ProgressReport = { ended: false, outSeconds: undefined, inputSeconds: undefined };

  get value(): Readonly<ProgressReport> {
    return this.report;
  }

  /** Takes one stderr line; true if it was a progress line (not for the log). */
  line(line: string): boolean {
    const progress = PROGRESS_LINE.exec(line);
    if (progress) {
      const [, key, value] = progress;
      if (key === 'out_time_us' && /^[0-9]+$/.test(value!)) this.report.outSeconds = Number(value) / 1e6;
      else if (key === 'progress') this.report.ended = value === 'end';
      return true;
    }
    if (this.report.inputSeconds === undefined) {
      const duration = INPUT_DURATION.exec(line);
      if (duration) this.report.inputSeconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
    }
    return false;
  }
}

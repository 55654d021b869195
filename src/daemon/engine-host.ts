import type { TranscriptionEngine } from '../transcription/engine.js';
import { ENGINE_SAMPLE_RATE, pcmSeconds } from './audio-input.js';

/**
 * Silence appended to each request for a streaming engine (pocketsphinx): its voice activity
 * detector ends an utterance after ~0.5 s without speech (`-vad_postspeech 50` frames), so the
 * text of this request's last utterance is printed now rather than with the next request.
 */
export const STREAM_END_SILENCE_SECONDS = 1;

/**
 * The one engine instance the daemon keeps loaded, fed one request at a time. Requests are
 * independent files, but a streaming engine's timeline runs on; each request is placed after
 * the previous one on it and its results are the text of every utterance that ended meanwhile.
 */
export class EngineHost {
  private offsetSeconds = 0;
  private seq = 0;
  private broken = false;
  private readonly silence: Buffer;

  constructor(private readonly engine: TranscriptionEngine) {
    this.silence = Buffer.alloc(engine.finalizedThrough ? Math.round(STREAM_END_SILENCE_SECONDS * ENGINE_SAMPLE_RATE) * 2 : 0);
  }

  get model(): string {
    return this.engine.model;
  }

  get name(): string {
    return this.engine.name;
  }

  async start(): Promise<void> {
    await this.engine.start();
    this.broken = false;
  }

  /** The texts of `pcm` (16 kHz mono s16le). An engine that failed is restarted first. */
  async transcribe(pcm: Buffer, file: string): Promise<string[]> {
    if (this.broken) await this.start();
    const audio = this.silence.length > 0 ? Buffer.concat([pcm, this.silence]) : pcm;
    const durationSeconds = pcmSeconds(audio.length);
    try {
      const segments = await this.engine.transcribe({ seq: ++this.seq, path: file, offsetSeconds: this.offsetSeconds, durationSeconds, pcm: audio, sampleRate: ENGINE_SAMPLE_RATE, channels: 1 });
      this.offsetSeconds += durationSeconds;
      return segments.map((s) => s.text.trim()).filter((text) => text.length > 0);
    } catch (error) {
      // Its stream is in an unknown state: the next request starts a fresh one.
      this.broken = true;
      await this.engine.close().catch(() => undefined);
      this.offsetSeconds = 0;
      throw error;
    }
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

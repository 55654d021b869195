import type { EngineAudioFormat, TranscriptionEngine } from '../transcription/engines/engine.js';
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

  constructor(private readonly engine: TranscriptionEngine) {}

  get model(): string {
    return this.engine.model;
  }

  get name(): string {
    return this.engine.name;
  }

  /** What a request's audio is converted to for this engine. */
  get audioFormat(): EngineAudioFormat {
    return this.engine.audioFormat ?? { sampleRate: ENGINE_SAMPLE_RATE };
  }

  /**
   * A stateless engine (one that takes chunks concurrently: openai, an HTTP request per chunk) can be
   * closed mid-request, which is what ends a request already sent; a decoder is closed after it.
   */
  get closesMidRequest(): boolean {
    return this.engine.concurrency !== undefined;
  }

  async start(): Promise<void> {
    await this.engine.start();
    this.broken = false;
  }

  /**
   * The texts of the request's audio (pieces in `audioFormat`), and its seconds. An engine that
   * failed is restarted first. The audio is passed on piece by piece, never gathered: a source
   * that throws (the daemon stopping) ends the engine's work between two pieces.
   */
  async transcribe(pieces: AsyncIterable<Buffer>, file: string): Promise<{ texts: string[]; seconds: number }> {
    if (this.broken) await this.start();
    const rate = this.audioFormat.sampleRate;
    const silence = Buffer.alloc(this.engine.finalizedThrough ? Math.round(STREAM_END_SILENCE_SECONDS * rate) * 2 : 0);
    let bytes = 0;
    async function* audio(): AsyncGenerator<Buffer> {
      for await (const piece of pieces) {
        bytes += piece.length;
        yield piece;
      }
      if (silence.length > 0) yield silence;
    }
    try {
      // The length is known only once read (ffmpeg decodes most requests as it goes): the hosted
      // engines count the pieces and need no duration beforehand.
      // standalone: each request may come from another client; none is sent with another's text.
      const segments = await this.engine.transcribe({
        seq: ++this.seq,
        path: file,
        offsetSeconds: this.offsetSeconds,
        durationSeconds: 0,
        audio,
        standalone: true,
      });
      const seconds = pcmSeconds(bytes, rate);
      this.offsetSeconds += seconds + pcmSeconds(silence.length, rate);
      return { texts: segments.map((s) => s.text.trim()).filter((text) => text.length > 0), seconds };
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

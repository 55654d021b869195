import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from '../../files/durable-write.js';
import {
  buildTranscript,
  formatJson,
  formatSrt,
  formatTranscriptLine,
  formatTxt,
  formatVtt,
  parseTranscriptJsonl,
  TRANSCRIPT_FILES,
  type TranscriptDocument,
  type TranscriptLine,
} from './transcript-formats.js';

/** Reads and appends a session's transcript.jsonl, and writes the final formats beside it. */
export class TranscriptStore {
  private appending: Promise<void> = Promise.resolve();

  constructor(readonly sessionDir: string) {}

  get jsonlPath(): string {
    return path.join(this.sessionDir, TRANSCRIPT_FILES.jsonl);
  }

  async read(): Promise<TranscriptLine[]> {
    try {
      return parseTranscriptJsonl(await fs.readFile(this.jsonlPath, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Appends in call order; each line reaches the file before the returned promise resolves. A failed append rejects its caller only. */
  append(lines: readonly TranscriptLine[]): Promise<void> {
    if (lines.length === 0) return this.appending;
    const text = lines.map(formatTranscriptLine).join('');
    const write = this.appending.then(() => fs.appendFile(this.jsonlPath, text, { mode: 0o600 }));
    this.appending = write.catch(() => undefined);
    return write;
  }

  /** Replaces the whole file (only when no session is appending to it: `echolog transcribe`). */
  async rewrite(lines: readonly TranscriptLine[]): Promise<void> {
    await this.appending;
    await writeFileDurable(this.jsonlPath, lines.map(formatTranscriptLine).join(''));
  }

  /** transcript.json, .txt, .srt, .vtt from every jsonl line; the same lines give the same bytes. */
  async writeFinal(meta: { sessionId: string; language: string; duration: number }): Promise<TranscriptDocument> {
    await this.appending;
    const doc = buildTranscript(await this.read(), meta);
    await writeFileDurable(path.join(this.sessionDir, TRANSCRIPT_FILES.json), formatJson(doc));
    await writeFileDurable(path.join(this.sessionDir, TRANSCRIPT_FILES.txt), formatTxt(doc));
    await writeFileDurable(path.join(this.sessionDir, TRANSCRIPT_FILES.srt), formatSrt(doc));
    await writeFileDurable(path.join(this.sessionDir, TRANSCRIPT_FILES.vtt), formatVtt(doc));
    return doc;
  }
}

import { describe, expect, it } from 'vitest';
import { DecoderPosition, STALL_MS } from '../src/transcription/live/decoder-position.js';

describe('DecoderPosition: how far the live decoder has got (pure)', () => {
  it('what the decoder has heard errs late: unread breaks count as unread audio', () => {
    const position = new DecoderPosition();
    position.wroteAudio(10, 10);
    position.wroteBreak(1);
    position.wroteAudio(12, 2);
    expect([position.sessionWritten, position.streamWritten]).toEqual([12, 13]);
    // Before the first look nothing is taken as heard.
    expect(position.heardUntil()).toBe(0);
    expect(position.observe(4, 0, false)).toBe('moved');
    // 13 stream seconds written, 4 read: 9 unread, so 12 − 9 = 3 session seconds heard.
    expect(position.heardUntil()).toBe(3);
    position.observe(13, 100, false);
    expect(position.heardUntil()).toBe(12);
    expect(position.hasRead(13)).toBe(true);
    expect(position.hasRead(13.5)).toBe(false);
  });

  it('a restart break moves the session to where the next run resumes, never back', () => {
    const position = new DecoderPosition();
    position.wroteAudio(5, 5);
    position.wroteBreak(0.5, 9);
    expect([position.sessionWritten, position.streamWritten]).toEqual([9, 5.5]);
    position.wroteBreak(0.5, 7);
    expect(position.sessionWritten).toBe(9);
  });

  it('a decoder whose reads cannot be told has heard what was written', () => {
    const position = new DecoderPosition();
    position.wroteAudio(8, 8);
    position.observe(undefined, 0, true);
    expect(position.heardUntil()).toBe(8);
    expect(position.hasRead(1)).toBe(false);
  });

  it('stalled only when it reads nothing for STALL_MS while audio waits', () => {
    const position = new DecoderPosition();
    expect(position.observe(1, 1000, false)).toBe('moved');
    expect(position.observe(1, 1000 + STALL_MS, false)).toBe('still');
    expect(position.observe(1, 1001 + STALL_MS, false)).toBe('stalled');
    // Nothing waiting for it: a still decoder is idle, and the watch starts again from there.
    expect(position.observe(1, 9000, true)).toBe('moved');
    expect(position.observe(1, 9000 + STALL_MS, false)).toBe('still');
    expect(position.observe(2, 20_000, false)).toBe('moved');
  });
});

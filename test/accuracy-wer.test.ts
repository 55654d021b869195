import { describe, expect, it } from 'vitest';
import { normalizeWords, wordEditDistance, wordErrorRate } from '../bench/accuracy-wer.mjs';

/** The word error rate the accuracy test and bench report (bench/accuracy-wer.mjs), pure. */
describe('normalizeWords', () => {
  it('lower case, punctuation gone, apostrophes inside words kept', () => {
    expect(normalizeWords('He was NOT an ill-disposed young man. "Don\'t!"')).toEqual([
      'he',
      'was',
      'not',
      'an',
      'ill',
      'disposed',
      'young',
      'man',
      "don't",
    ]);
  });
  it("drops pocketsphinx's fillers and alternate-pronunciation marks", () => {
    expect(normalizeWords('<s> the(2) [NOISE] cat <sil> ++BREATH++ sat </s>')).toEqual(['the', 'cat', 'sat']);
  });
  it('an empty or blank text has no words', () => {
    expect(normalizeWords('')).toEqual([]);
    expect(normalizeWords('  \n ')).toEqual([]);
  });
});

describe('wordEditDistance', () => {
  it('counts substitutions, deletions and insertions, each once', () => {
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'x', 'c'])).toBe(1);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'b', 'x', 'c'])).toBe(1);
    expect(wordEditDistance(['a', 'b'], [])).toBe(2);
    expect(wordEditDistance([], ['a'])).toBe(1);
    // "himself" heard as two words: one substitution and one insertion.
    expect(wordEditDistance(['made', 'amiable', 'himself'], ['made', 'amiable', 'him', 'self'])).toBe(2);
  });
});

describe('wordErrorRate', () => {
  it('errors per reference word, in percent, after normalising both', () => {
    expect(wordErrorRate('He might even have been made amiable himself.', 'he might even have been made a real boy i am self')).toEqual({
      errors: 6,
      words: 8,
      wer: 75,
    });
    expect(wordErrorRate('one two', 'One, two!')).toEqual({ errors: 0, words: 2, wer: 0 });
  });
  it('an empty reference: 0 for an empty hypothesis, else 100', () => {
    expect(wordErrorRate('', '').wer).toBe(0);
    expect(wordErrorRate('', 'x').wer).toBe(100);
  });
});

// Word error rate, pure: the words a hypothesis gets wrong (substituted, deleted, inserted) per
// word of the reference, by word-level Levenshtein distance after both are normalised alike.
// Used by the `accuracy` bench and by test/speech-accuracy.test.ts.

/**
 * The words of a text as a decoder's output and a reference text are compared: lower case,
 * punctuation gone (an apostrophe inside a word stays: "don't"), pocketsphinx's fillers (`<s>`,
 * `<sil>`, `[NOISE]`, `++breath++`) and alternate-pronunciation marks (`the(2)`) dropped.
 */
export function normalizeWords(text) {
  return text
    .toLowerCase()
    .replace(/<[^>]*>|\[[^\]]*\]|\+\+[^+]*\+\+/g, ' ')
    .replace(/\(\d+\)/g, '')
    .replace(/[^a-z0-9'\s-]+/g, ' ')
    .replace(/(^|\s)['-]+|['-]+(?=\s|$)/g, ' ')
    .split(/[\s-]+/)
    .filter(Boolean);
}

/** Word-level edit distance between two word lists (one row at a time: memory ~ the hypothesis). */
export function wordEditDistance(reference, hypothesis) {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const current = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = previous[j - 1] + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j] + 1, current[j - 1] + 1));
    }
    previous = current;
  }
  return previous[hypothesis.length];
}

/** `{ errors, words, wer }`: wer in percent of the reference's words (0 for two empty texts). */
export function wordErrorRate(reference, hypothesis) {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  const errors = wordEditDistance(ref, hyp);
  const wer = ref.length === 0 ? (hyp.length === 0 ? 0 : 100) : (100 * errors) / ref.length;
  return { errors, words: ref.length, wer };
}

// Wrong API tokens that only a comparison of every character refuses: the same length as the
// real one, differing in a single character. A check that looks at the length, or at a prefix, or
// stops early lets one of them through; the tests that refuse a wrong token use these.

/** A character of the base64url alphabet that is not `c`. */
const other = (c: string) => (c === 'A' ? 'B' : 'A');

export interface NearMiss {
  /** What differs, for assertion messages. */
  what: string;
  token: string;
}

/** The token with only its last character changed, so that a check of any shorter prefix passes it. */
export function withLastChanged(token: string): string {
  return token.slice(0, -1) + other(token.charAt(token.length - 1));
}

/** The token with only its first character changed, so that a check of any shorter suffix passes it. */
export function withFirstChanged(token: string): string {
  return other(token.charAt(0)) + token.slice(1);
}

/** Both near misses, each with what differs. */
export function nearMissTokens(token: string): NearMiss[] {
  if (token.length < 2) throw new Error('a near miss needs a token of at least two characters');
  return [
    { what: 'the token with its last character changed', token: withLastChanged(token) },
    { what: 'the token with its first character changed', token: withFirstChanged(token) },
  ];
}

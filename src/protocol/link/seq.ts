// 32-bit sequence numbers for must-arrive link messages (protocol.md §10.4). They wrap, so
// order is decided with serial-number arithmetic (RFC 1982), never with < on raw values.
// A stream's first message is 1; an acknowledgement names the last message delivered, so 0
// means "none yet" at the start and is an ordinary number after the first wrap.

export const SEQ_MODULUS = 2 ** 32;

export function seqNext(seq: number): number {
  return (seq + 1) % SEQ_MODULUS;
}

export function seqPrev(seq: number): number {
  return (seq + SEQ_MODULUS - 1) % SEQ_MODULUS;
}

/** How far `b` is ahead of `a` (negative when behind); valid for numbers under 2^31 apart. */
export function seqDelta(a: number, b: number): number {
  let d = (b - a) % SEQ_MODULUS;
  if (d < 0) d += SEQ_MODULUS;
  return d >= SEQ_MODULUS / 2 ? d - SEQ_MODULUS : d;
}

export function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < SEQ_MODULUS;
}

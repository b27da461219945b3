// The pieces a file goes to the board in (op "chunk"): base64, at most the size the board named
// in its answer to op "begin".

export interface Chunk {
  offset: number;
  bytes: number;
  /** base64 */
  data: string;
}

/** The chunks of a file from `start` on, each at most chunkBytes long. */
export function* chunksOf(data: Buffer, start: number, chunkBytes: number): Generator<Chunk> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
  for (let offset = start; offset < data.length; offset += chunkBytes) {
    const piece = data.subarray(offset, Math.min(offset + chunkBytes, data.length));
    yield { offset, bytes: piece.length, data: piece.toString('base64') };
  }
}

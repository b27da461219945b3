// C struct layout by the usual rules (each field at a multiple of its alignment, the struct's
// size a multiple of its largest alignment), so offsets in gpio-uapi.ts and i2c-uapi.ts are
// computed from the header's field list instead of copied as numbers. The uapi-headers test
// compares every one of them with what gcc says.

/** A field: name, size in bytes (a whole array's size for arrays), alignment in bytes. */
export type FieldSpec<K extends string> = readonly [name: K, size: number, align: number];

export type Layout<K extends string> = { readonly [P in K]: number } & { readonly size: number; readonly align: number };

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function layout<K extends string>(fields: readonly FieldSpec<K>[]): Layout<K> {
  const offsets: Record<string, number> = {};
  let cursor = 0;
  let align = 1;
  for (const [name, size, fieldAlign] of fields) {
    const at = alignUp(cursor, fieldAlign);
    offsets[name] = at;
    cursor = at + size;
    align = Math.max(align, fieldAlign);
  }
  return Object.freeze({ ...offsets, size: alignUp(cursor, align), align }) as Layout<K>;
}

/** A NUL-terminated string in a fixed char array, cut to fit as the kernel's strscpy does. */
export function writeCString(buf: Buffer, at: number, capacity: number, text: string): void {
  buf.fill(0, at, at + capacity);
  const bytes = Buffer.from(text, 'utf8').subarray(0, capacity - 1);
  bytes.copy(buf, at);
}

export function readCString(buf: Buffer, at: number, capacity: number): string {
  const field = buf.subarray(at, at + capacity);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? capacity : end).toString('utf8');
}

/** Whether bytes [at, at+length) are all zero: the kernel refuses a struct whose padding is not. */
export function isZero(buf: Buffer, at: number, length: number): boolean {
  for (let i = at; i < at + length; i++) if (buf[i] !== 0) return false;
  return true;
}

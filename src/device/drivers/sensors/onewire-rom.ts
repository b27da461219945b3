// 1-Wire ROM codes as Tether writes them: the 8 bytes in the order the bus sends them (family
// code first, CRC last) as 16 hex digits, as MicroPython's onewire.scan() gives them.

/** Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1, bit-reversed 0x8C), as the ROM's last byte holds it. */
export function crc8Maxim(bytes: ArrayLike<number>): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i] ?? 0;
    for (let bit = 0; bit < 8; bit++) {
      const mix = (crc ^ b) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8c;
      b >>= 1;
    }
  }
  return crc;
}

/** A ROM code from its family code and 48-bit serial bytes (least significant first), CRC added. */
export function romFromParts(family: number, serial: ArrayLike<number>): string {
  const bytes = [family & 0xff, ...Array.from(serial, (b) => b & 0xff)];
  if (bytes.length !== 7) throw new Error(`a 1-Wire serial is 6 bytes, not ${bytes.length - 1}`);
  bytes.push(crc8Maxim(bytes));
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The 8 bytes of a 16-hex-digit ROM code, or undefined when it is not one. */
export function romBytes(rom: string): number[] | undefined {
  if (!/^[0-9a-f]{16}$/i.test(rom)) return undefined;
  return (rom.toLowerCase().match(/../g) ?? []).map((h) => Number.parseInt(h, 16));
}

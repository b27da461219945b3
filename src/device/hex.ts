/** A byte or I2C address as people write it: 0x38. */
export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

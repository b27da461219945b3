// /dev/i2c-N's userspace ABI (<linux/i2c-dev.h>, <linux/i2c.h>): I2C_FUNCS and I2C_RDWR.
// Unlike the GPIO structs these hold pointers and an unsigned long, so their layout follows
// the userspace word size: a 32-bit Raspberry Pi OS (armhf, process.arch "arm") has 4-byte
// pointers even on a 64-bit kernel, which translates the 32-bit layout itself.
import { layout } from './struct-layout.js';

// i2c-dev's request numbers predate _IOC and are plain numbers in the header.
export const I2C_FUNCS = 0x0705;
export const I2C_RDWR = 0x0707;
export const I2C_RDWR_IOCTL_MAX_MSGS = 42;
/** What i2c-dev accepts as one message's length (i2cdev_ioctl_rdwr). */
export const I2C_MSG_MAX_LEN = 8192;

/** i2c_msg.flags */
export const I2C_M_RD = 0x0001;

/** Bits of the I2C_FUNCS answer. */
export const I2C_FUNC_I2C = 0x00000001;
export const I2C_FUNC_SMBUS_QUICK = 0x00010000;

export type PointerSize = 4 | 8;

const ARCH_32_BIT = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc']);

/** The size (and alignment) of a pointer and an unsigned long in this process. */
export function pointerSizeFor(arch: string = process.arch): PointerSize {
  return ARCH_32_BIT.has(arch) ? 4 : 8;
}

export function i2cMsgLayout(ptr: PointerSize) {
  return layout([
    ['addr', 2, 2],
    ['flags', 2, 2],
    ['len', 2, 2],
    ['buf', ptr, ptr],
  ]);
}

export function rdwrDataLayout(ptr: PointerSize) {
  return layout([
    ['msgs', ptr, ptr],
    ['nmsgs', 4, 4],
  ]);
}

export interface I2cMsg {
  addr: number;
  flags: number;
  len: number;
  /** The address of the message's bytes (Kernel.addressOf). */
  buf: bigint;
}

function writePointer(buf: Buffer, at: number, ptr: PointerSize, value: bigint): void {
  if (ptr === 8) buf.writeBigUInt64LE(value, at);
  else buf.writeUInt32LE(Number(value), at);
}

function readPointer(buf: Buffer, at: number, ptr: PointerSize): bigint {
  return ptr === 8 ? buf.readBigUInt64LE(at) : BigInt(buf.readUInt32LE(at));
}

/** An array of struct i2c_msg. */
export function encodeI2cMsgs(msgs: readonly I2cMsg[], ptr: PointerSize): Buffer {
  const l = i2cMsgLayout(ptr);
  const buf = Buffer.alloc(l.size * msgs.length);
  msgs.forEach((m, i) => {
    const at = i * l.size;
    buf.writeUInt16LE(m.addr, at + l.addr);
    buf.writeUInt16LE(m.flags, at + l.flags);
    buf.writeUInt16LE(m.len, at + l.len);
    writePointer(buf, at + l.buf, ptr, m.buf);
  });
  return buf;
}

export function decodeI2cMsg(buf: Buffer, index: number, ptr: PointerSize): I2cMsg {
  const l = i2cMsgLayout(ptr);
  const at = index * l.size;
  return { addr: buf.readUInt16LE(at + l.addr), flags: buf.readUInt16LE(at + l.flags), len: buf.readUInt16LE(at + l.len), buf: readPointer(buf, at + l.buf, ptr) };
}

/** struct i2c_rdwr_ioctl_data, the I2C_RDWR argument. */
export function encodeRdwrData(msgs: bigint, nmsgs: number, ptr: PointerSize): Buffer {
  const l = rdwrDataLayout(ptr);
  const buf = Buffer.alloc(l.size);
  writePointer(buf, l.msgs, ptr, msgs);
  buf.writeUInt32LE(nmsgs, l.nmsgs);
  return buf;
}

export function decodeRdwrData(buf: Buffer, ptr: PointerSize): { msgs: bigint; nmsgs: number } {
  const l = rdwrDataLayout(ptr);
  return { msgs: readPointer(buf, l.msgs, ptr), nmsgs: buf.readUInt32LE(l.nmsgs) };
}

/** The I2C_FUNCS argument: one unsigned long. */
export function funcsBuffer(ptr: PointerSize): Buffer {
  return Buffer.alloc(ptr);
}

/** Every defined functionality bit is below bit 32, so the low word (little-endian) is enough. */
export function readFuncs(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

export function writeFuncs(buf: Buffer, funcs: number): void {
  buf.fill(0);
  buf.writeUInt32LE(funcs >>> 0, 0);
}

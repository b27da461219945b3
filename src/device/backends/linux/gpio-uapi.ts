// The GPIO character device's userspace ABI, version 2 (<linux/gpio.h>): ioctl numbers and
// the structs' bytes. Every u64 there is __aligned_u64, so the layout is the same for 32- and
// 64-bit userspace. Both directions are here: the backend encodes requests and decodes
// answers; the test fake decodes requests and encodes answers with the same functions.
import { isZero, layout, readCString, writeCString } from './struct-layout.js';

// _IOC as in asm-generic/ioctl.h (x86, Arm, RISC-V; Alpha, MIPS, PowerPC and SPARC differ).
const IOC_SIZEBITS = 14;
const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size >= 1 << IOC_SIZEBITS) throw new RangeError(`an ioctl argument of ${size} bytes does not fit _IOC's size field`);
  return ((dir << IOC_DIRSHIFT) | (size << IOC_SIZESHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT)) >>> 0;
}

export const GPIO_MAX_NAME_SIZE = 32;
export const GPIO_V2_LINES_MAX = 64;
export const GPIO_V2_LINE_NUM_ATTRS_MAX = 10;

const U32 = 4;
const U64 = 8;

export const CHIP_INFO = layout([
  ['name', GPIO_MAX_NAME_SIZE, 1],
  ['label', GPIO_MAX_NAME_SIZE, 1],
  ['lines', U32, U32],
]);

/** The union (flags, values: u64; debounce_period_us: u32) starts at `value`. */
export const LINE_ATTRIBUTE = layout([
  ['id', U32, U32],
  ['padding', U32, U32],
  ['value', U64, U64],
]);

export const LINE_CONFIG_ATTRIBUTE = layout([
  ['attr', LINE_ATTRIBUTE.size, LINE_ATTRIBUTE.align],
  ['mask', U64, U64],
]);

export const LINE_CONFIG = layout([
  ['flags', U64, U64],
  ['num_attrs', U32, U32],
  ['padding', 5 * U32, U32],
  ['attrs', GPIO_V2_LINE_NUM_ATTRS_MAX * LINE_CONFIG_ATTRIBUTE.size, LINE_CONFIG_ATTRIBUTE.align],
]);

export const LINE_REQUEST = layout([
  ['offsets', GPIO_V2_LINES_MAX * U32, U32],
  ['consumer', GPIO_MAX_NAME_SIZE, 1],
  ['config', LINE_CONFIG.size, LINE_CONFIG.align],
  ['num_lines', U32, U32],
  ['event_buffer_size', U32, U32],
  ['padding', 5 * U32, U32],
  ['fd', U32, U32],
]);

export const LINE_INFO = layout([
  ['name', GPIO_MAX_NAME_SIZE, 1],
  ['consumer', GPIO_MAX_NAME_SIZE, 1],
  ['offset', U32, U32],
  ['num_attrs', U32, U32],
  ['flags', U64, U64],
  ['attrs', GPIO_V2_LINE_NUM_ATTRS_MAX * LINE_ATTRIBUTE.size, LINE_ATTRIBUTE.align],
  ['padding', 4 * U32, U32],
]);

export const LINE_VALUES = layout([
  ['bits', U64, U64],
  ['mask', U64, U64],
]);

export const LINE_EVENT = layout([
  ['timestamp_ns', U64, U64],
  ['id', U32, U32],
  ['offset', U32, U32],
  ['seqno', U32, U32],
  ['line_seqno', U32, U32],
  ['padding', 6 * U32, U32],
]);

const GPIO_MAGIC = 0xb4;
export const GPIO_GET_CHIPINFO_IOCTL = ioc(IOC_READ, GPIO_MAGIC, 0x01, CHIP_INFO.size);
export const GPIO_V2_GET_LINEINFO_IOCTL = ioc(IOC_READ | IOC_WRITE, GPIO_MAGIC, 0x05, LINE_INFO.size);
export const GPIO_V2_GET_LINE_IOCTL = ioc(IOC_READ | IOC_WRITE, GPIO_MAGIC, 0x07, LINE_REQUEST.size);
export const GPIO_V2_LINE_SET_CONFIG_IOCTL = ioc(IOC_READ | IOC_WRITE, GPIO_MAGIC, 0x0d, LINE_CONFIG.size);
export const GPIO_V2_LINE_GET_VALUES_IOCTL = ioc(IOC_READ | IOC_WRITE, GPIO_MAGIC, 0x0e, LINE_VALUES.size);
export const GPIO_V2_LINE_SET_VALUES_IOCTL = ioc(IOC_READ | IOC_WRITE, GPIO_MAGIC, 0x0f, LINE_VALUES.size);

/** enum gpio_v2_line_flag. */
export const LineFlag = Object.freeze({
  USED: 1n << 0n,
  ACTIVE_LOW: 1n << 1n,
  INPUT: 1n << 2n,
  OUTPUT: 1n << 3n,
  EDGE_RISING: 1n << 4n,
  EDGE_FALLING: 1n << 5n,
  OPEN_DRAIN: 1n << 6n,
  OPEN_SOURCE: 1n << 7n,
  BIAS_PULL_UP: 1n << 8n,
  BIAS_PULL_DOWN: 1n << 9n,
  BIAS_DISABLED: 1n << 10n,
  EVENT_CLOCK_REALTIME: 1n << 11n,
  EVENT_CLOCK_HTE: 1n << 12n,
});

/** enum gpio_v2_line_attr_id. */
export const AttrId = Object.freeze({ FLAGS: 1, OUTPUT_VALUES: 2, DEBOUNCE: 3 });

/** enum gpio_v2_line_event_id. */
export const EventId = Object.freeze({ RISING_EDGE: 1, FALLING_EDGE: 2 });

export type LineAttribute =
  | { id: 'flags'; flags: bigint }
  | { id: 'output_values'; values: bigint }
  | { id: 'debounce'; periodUs: number }
  /** An id this code does not know; the kernel answers EINVAL for none, but line info may carry new ones. */
  | { id: 'other'; raw: number };

export interface ConfigAttribute {
  attr: LineAttribute;
  /** Which of the request's lines (bit i = offsets[i]) the attribute applies to. */
  mask: bigint;
}

export interface LineConfig {
  /** The default flags of every line in the request; a flags attribute overrides them per line. */
  flags: bigint;
  attrs: ConfigAttribute[];
}

export interface ChipInfo {
  name: string;
  label: string;
  lines: number;
}

export interface LineInfo {
  name: string;
  consumer: string;
  offset: number;
  flags: bigint;
  attrs: LineAttribute[];
}

export interface LineValues {
  bits: bigint;
  mask: bigint;
}

export interface LineEvent {
  timestampNs: bigint;
  /** EventId.RISING_EDGE or EventId.FALLING_EDGE, in the line's logical (active) sense. */
  id: number;
  offset: number;
  seqno: number;
  lineSeqno: number;
}

export interface LineRequest {
  offsets: number[];
  consumer: string;
  config: LineConfig;
  /** Events the kernel should be able to hold; 0 lets it choose (16 per line). */
  eventBufferSize?: number;
}

/** A request as the kernel reads it, with what it checks before it accepts one. */
export interface DecodedLineRequest extends Required<LineRequest> {
  numLines: number;
  /** num_attrs as sent, which may exceed GPIO_V2_LINE_NUM_ATTRS_MAX. */
  numAttrs: number;
  paddingIsZero: boolean;
  fd: number;
}

// --- chip and line info ---------------------------------------------------------------------

export function encodeChipInfo(info: ChipInfo, buf: Buffer = Buffer.alloc(CHIP_INFO.size)): Buffer {
  writeCString(buf, CHIP_INFO.name, GPIO_MAX_NAME_SIZE, info.name);
  writeCString(buf, CHIP_INFO.label, GPIO_MAX_NAME_SIZE, info.label);
  buf.writeUInt32LE(info.lines, CHIP_INFO.lines);
  return buf;
}

export function decodeChipInfo(buf: Buffer): ChipInfo {
  return {
    name: readCString(buf, CHIP_INFO.name, GPIO_MAX_NAME_SIZE),
    label: readCString(buf, CHIP_INFO.label, GPIO_MAX_NAME_SIZE),
    lines: buf.readUInt32LE(CHIP_INFO.lines),
  };
}

/** The GPIO_V2_GET_LINEINFO_IOCTL argument: zeroed (the kernel checks the padding), offset filled in. */
export function lineInfoQuery(offset: number): Buffer {
  const buf: Buffer = Buffer.alloc(LINE_INFO.size);
  buf.writeUInt32LE(offset, LINE_INFO.offset);
  return buf;
}

export function encodeLineInfo(info: LineInfo, buf: Buffer = Buffer.alloc(LINE_INFO.size)): Buffer {
  if (info.attrs.length > GPIO_V2_LINE_NUM_ATTRS_MAX) throw new RangeError(`a line info holds at most ${GPIO_V2_LINE_NUM_ATTRS_MAX} attributes`);
  buf.fill(0);
  writeCString(buf, LINE_INFO.name, GPIO_MAX_NAME_SIZE, info.name);
  writeCString(buf, LINE_INFO.consumer, GPIO_MAX_NAME_SIZE, info.consumer);
  buf.writeUInt32LE(info.offset, LINE_INFO.offset);
  buf.writeUInt32LE(info.attrs.length, LINE_INFO.num_attrs);
  buf.writeBigUInt64LE(info.flags, LINE_INFO.flags);
  info.attrs.forEach((attr, i) => encodeAttribute(attr, buf, LINE_INFO.attrs + i * LINE_ATTRIBUTE.size));
  return buf;
}

export function decodeLineInfo(buf: Buffer): LineInfo {
  const count = Math.min(buf.readUInt32LE(LINE_INFO.num_attrs), GPIO_V2_LINE_NUM_ATTRS_MAX);
  return {
    name: readCString(buf, LINE_INFO.name, GPIO_MAX_NAME_SIZE),
    consumer: readCString(buf, LINE_INFO.consumer, GPIO_MAX_NAME_SIZE),
    offset: buf.readUInt32LE(LINE_INFO.offset),
    flags: buf.readBigUInt64LE(LINE_INFO.flags),
    attrs: Array.from({ length: count }, (_, i) => decodeAttribute(buf, LINE_INFO.attrs + i * LINE_ATTRIBUTE.size)),
  };
}

export function lineInfoPaddingIsZero(buf: Buffer): boolean {
  return isZero(buf, LINE_INFO.padding, 4 * U32);
}

// --- attributes and config ------------------------------------------------------------------

function encodeAttribute(attr: LineAttribute, buf: Buffer, at: number): void {
  buf.fill(0, at, at + LINE_ATTRIBUTE.size);
  switch (attr.id) {
    case 'flags':
      buf.writeUInt32LE(AttrId.FLAGS, at + LINE_ATTRIBUTE.id);
      buf.writeBigUInt64LE(attr.flags, at + LINE_ATTRIBUTE.value);
      break;
    case 'output_values':
      buf.writeUInt32LE(AttrId.OUTPUT_VALUES, at + LINE_ATTRIBUTE.id);
      buf.writeBigUInt64LE(attr.values, at + LINE_ATTRIBUTE.value);
      break;
    case 'debounce':
      buf.writeUInt32LE(AttrId.DEBOUNCE, at + LINE_ATTRIBUTE.id);
      buf.writeUInt32LE(attr.periodUs, at + LINE_ATTRIBUTE.value);
      break;
    case 'other':
      buf.writeUInt32LE(attr.raw, at + LINE_ATTRIBUTE.id);
      break;
  }
}

function decodeAttribute(buf: Buffer, at: number): LineAttribute {
  const id = buf.readUInt32LE(at + LINE_ATTRIBUTE.id);
  const value = at + LINE_ATTRIBUTE.value;
  if (id === AttrId.FLAGS) return { id: 'flags', flags: buf.readBigUInt64LE(value) };
  if (id === AttrId.OUTPUT_VALUES) return { id: 'output_values', values: buf.readBigUInt64LE(value) };
  if (id === AttrId.DEBOUNCE) return { id: 'debounce', periodUs: buf.readUInt32LE(value) };
  return { id: 'other', raw: id };
}

export function encodeLineConfig(config: LineConfig, buf: Buffer = Buffer.alloc(LINE_CONFIG.size), at = 0): Buffer {
  if (config.attrs.length > GPIO_V2_LINE_NUM_ATTRS_MAX) throw new RangeError(`a line config holds at most ${GPIO_V2_LINE_NUM_ATTRS_MAX} attributes`);
  buf.fill(0, at, at + LINE_CONFIG.size);
  buf.writeBigUInt64LE(config.flags, at + LINE_CONFIG.flags);
  buf.writeUInt32LE(config.attrs.length, at + LINE_CONFIG.num_attrs);
  config.attrs.forEach((a, i) => {
    const base = at + LINE_CONFIG.attrs + i * LINE_CONFIG_ATTRIBUTE.size;
    encodeAttribute(a.attr, buf, base + LINE_CONFIG_ATTRIBUTE.attr);
    buf.writeBigUInt64LE(a.mask, base + LINE_CONFIG_ATTRIBUTE.mask);
  });
  return buf;
}

export function decodeLineConfig(buf: Buffer, at = 0): { config: LineConfig; numAttrs: number; paddingIsZero: boolean } {
  const numAttrs = buf.readUInt32LE(at + LINE_CONFIG.num_attrs);
  const attrs = Array.from({ length: Math.min(numAttrs, GPIO_V2_LINE_NUM_ATTRS_MAX) }, (_, i) => {
    const base = at + LINE_CONFIG.attrs + i * LINE_CONFIG_ATTRIBUTE.size;
    return { attr: decodeAttribute(buf, base + LINE_CONFIG_ATTRIBUTE.attr), mask: buf.readBigUInt64LE(base + LINE_CONFIG_ATTRIBUTE.mask) };
  });
  return {
    config: { flags: buf.readBigUInt64LE(at + LINE_CONFIG.flags), attrs },
    numAttrs,
    paddingIsZero: isZero(buf, at + LINE_CONFIG.padding, 5 * U32),
  };
}

/** The flags that apply to the line at `index` of a request: its flags attribute, else the default (as the kernel picks them). */
export function lineFlags(config: LineConfig, index: number): bigint {
  const bit = 1n << BigInt(index);
  for (const a of config.attrs) if (a.attr.id === 'flags' && (a.mask & bit) !== 0n) return a.attr.flags;
  return config.flags;
}

/** The first attribute of a kind that applies to the line at `index`, if any. */
export function lineAttribute<K extends LineAttribute['id']>(config: LineConfig, index: number, id: K): Extract<LineAttribute, { id: K }> | undefined {
  const bit = 1n << BigInt(index);
  for (const a of config.attrs) if (a.attr.id === id && (a.mask & bit) !== 0n) return a.attr as Extract<LineAttribute, { id: K }>;
  return undefined;
}

// --- line requests ----------------------------------------------------------------------------

export function encodeLineRequest(req: LineRequest): Buffer {
  if (req.offsets.length < 1 || req.offsets.length > GPIO_V2_LINES_MAX) throw new RangeError(`a line request takes 1–${GPIO_V2_LINES_MAX} lines`);
  const buf: Buffer = Buffer.alloc(LINE_REQUEST.size);
  req.offsets.forEach((offset, i) => buf.writeUInt32LE(offset, LINE_REQUEST.offsets + i * U32));
  writeCString(buf, LINE_REQUEST.consumer, GPIO_MAX_NAME_SIZE, req.consumer);
  encodeLineConfig(req.config, buf, LINE_REQUEST.config);
  buf.writeUInt32LE(req.offsets.length, LINE_REQUEST.num_lines);
  buf.writeUInt32LE(req.eventBufferSize ?? 0, LINE_REQUEST.event_buffer_size);
  return buf;
}

export function decodeLineRequest(buf: Buffer): DecodedLineRequest {
  const numLines = buf.readUInt32LE(LINE_REQUEST.num_lines);
  const { config, numAttrs, paddingIsZero } = decodeLineConfig(buf, LINE_REQUEST.config);
  return {
    offsets: Array.from({ length: Math.min(numLines, GPIO_V2_LINES_MAX) }, (_, i) => buf.readUInt32LE(LINE_REQUEST.offsets + i * U32)),
    consumer: readCString(buf, LINE_REQUEST.consumer, GPIO_MAX_NAME_SIZE),
    config,
    eventBufferSize: buf.readUInt32LE(LINE_REQUEST.event_buffer_size),
    numLines,
    numAttrs,
    paddingIsZero: paddingIsZero && isZero(buf, LINE_REQUEST.padding, 5 * U32),
    fd: buf.readInt32LE(LINE_REQUEST.fd),
  };
}

/** The fd the kernel wrote into an answered GPIO_V2_GET_LINE_IOCTL. */
export function requestFd(buf: Buffer): number {
  return buf.readInt32LE(LINE_REQUEST.fd);
}

export function setRequestFd(buf: Buffer, fd: number): void {
  buf.writeInt32LE(fd, LINE_REQUEST.fd);
}

// --- values and events ------------------------------------------------------------------------

export function encodeLineValues(values: LineValues, buf: Buffer = Buffer.alloc(LINE_VALUES.size)): Buffer {
  buf.writeBigUInt64LE(values.bits, LINE_VALUES.bits);
  buf.writeBigUInt64LE(values.mask, LINE_VALUES.mask);
  return buf;
}

export function decodeLineValues(buf: Buffer): LineValues {
  return { bits: buf.readBigUInt64LE(LINE_VALUES.bits), mask: buf.readBigUInt64LE(LINE_VALUES.mask) };
}

export function encodeLineEvent(event: LineEvent, buf: Buffer = Buffer.alloc(LINE_EVENT.size), at = 0): Buffer {
  buf.fill(0, at, at + LINE_EVENT.size);
  buf.writeBigUInt64LE(event.timestampNs, at + LINE_EVENT.timestamp_ns);
  buf.writeUInt32LE(event.id, at + LINE_EVENT.id);
  buf.writeUInt32LE(event.offset, at + LINE_EVENT.offset);
  buf.writeUInt32LE(event.seqno, at + LINE_EVENT.seqno);
  buf.writeUInt32LE(event.lineSeqno, at + LINE_EVENT.line_seqno);
  return buf;
}

export function decodeLineEvent(buf: Buffer, at = 0): LineEvent {
  return {
    timestampNs: buf.readBigUInt64LE(at + LINE_EVENT.timestamp_ns),
    id: buf.readUInt32LE(at + LINE_EVENT.id),
    offset: buf.readUInt32LE(at + LINE_EVENT.offset),
    seqno: buf.readUInt32LE(at + LINE_EVENT.seqno),
    lineSeqno: buf.readUInt32LE(at + LINE_EVENT.line_seqno),
  };
}

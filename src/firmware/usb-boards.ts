// Which serial ports are probably a MicroPython board, by the USB vendor and product ids the port
// reports: boards with native USB (Raspberry Pi RP2040/RP2350, Espressif S2/S3/C3/C6) and the
// USB-serial bridges that ESP32 boards carry. Only a guess: a bridge may be any gadget.

export interface SerialPortInfo {
  path: string;
  /** Four hex digits as the OS reports them (any case), when the port is on USB. */
  vendorId?: string | undefined;
  productId?: string | undefined;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
}

export interface BoardCandidate extends SerialPortInfo {
  /** `2e8a:0005` */
  usbId: string;
  /** What it probably is: "Raspberry Pi RP2040/RP2350 (Pico, Pico W, Pico 2 W)". */
  kind: string;
}

const VENDORS: ReadonlyMap<string, string> = new Map([
  ['2e8a', 'Raspberry Pi RP2040/RP2350 (Pico, Pico W, Pico 2 W)'],
  ['303a', 'Espressif native USB (ESP32-S2/S3/C3/C6)'],
]);

const BRIDGES: ReadonlyMap<string, string> = new Map([
  ['10c4:ea60', 'CP210x USB-serial bridge (many ESP32 boards)'],
  ['1a86:7523', 'CH340 USB-serial bridge (many ESP32 boards)'],
  ['1a86:55d4', 'CH9102 USB-serial bridge (many ESP32 boards)'],
  ['0403:6001', 'FTDI FT232R USB-serial bridge'],
  ['0403:6015', 'FTDI FT231X USB-serial bridge'],
]);

function hex4(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const h = id.toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]{1,4}$/.test(h) ? h.padStart(4, '0') : undefined;
}

/** What the port probably is, or undefined when its USB id is none a MicroPython board uses. */
export function boardKind(port: SerialPortInfo): BoardCandidate | undefined {
  const vid = hex4(port.vendorId);
  const pid = hex4(port.productId);
  if (vid === undefined || pid === undefined) return undefined;
  const usbId = `${vid}:${pid}`;
  const kind = VENDORS.get(vid) ?? BRIDGES.get(usbId);
  return kind === undefined ? undefined : { ...port, usbId, kind };
}

/** The ports that are probably a board, in path order. */
export function boardCandidates(ports: readonly SerialPortInfo[]): BoardCandidate[] {
  return ports
    .map(boardKind)
    .filter((c): c is BoardCandidate => c !== undefined)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

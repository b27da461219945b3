// WiFi signal strength from /proc/net/wireless (net/wireless/wext-proc.c): two header lines,
// then one line per wireless interface:
//   " wlan0: 0000   70.  -40.  -256        0      0      0      0      0        0"
// The level is printed as a signed number followed by "." when the driver updated it since the
// last read, or " " when it did not. An interface that is not associated shows zeros.
import { readFileSync } from 'node:fs';
import { under, type KernelRoots } from './roots.js';

export interface WirelessLine {
  iface: string;
  status: number;
  link: number;
  level: number;
  noise: number;
}

export function parseProcNetWireless(text: string): WirelessLine[] {
  const out: WirelessLine[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const iface = line.slice(0, colon).trim();
    const [status, link, level, noise] = line.slice(colon + 1).trim().split(/\s+/);
    const num = (s: string | undefined): number => Number.parseFloat((s ?? '').replace(/\.$/, ''));
    if (iface === '' || status === undefined) continue;
    out.push({ iface, status: Number.parseInt(status, 16), link: num(link), level: num(level), noise: num(noise) });
  }
  return out;
}

/** Every interface in /proc/net/wireless; none when the file is missing (no WiFi). */
export function wirelessLines(roots: KernelRoots, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): WirelessLine[] {
  try {
    return parseProcNetWireless(read(under(roots.proc, 'net/wireless')));
  } catch {
    return [];
  }
}

/** A line's signal in dBm; undefined when a level ≥ 0 is not dBm: no link, or a driver that reports only a relative quality. */
export function signalOf(line: WirelessLine): number | undefined {
  return Number.isFinite(line.level) && line.level < 0 ? line.level : undefined;
}

/** The signal in dBm of `iface` (or the first interface listed); undefined when the file, the interface or a signal is missing. */
export function wifiSignal(roots: KernelRoots, iface?: string, read?: (path: string) => string): number | undefined {
  const lines = wirelessLines(roots, read);
  const line = iface === undefined ? lines[0] : lines.find((l) => l.iface === iface);
  return line === undefined ? undefined : signalOf(line);
}

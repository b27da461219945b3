// What a board needs to link to this hub, as `tether hub add-device` prints it: the hub's
// address as boards on the LAN reach it, the firmware's config/hub.json, and the command for a
// board run by `tether device` (with the certificate's fingerprint to pin when the link has TLS).
import os from 'node:os';
import { hostPort, isLoopbackHost } from '../common/address.js';

export interface BoardsReachHubAt {
  host: string;
  /** Why the host may not do, or undefined when it is a LAN address. */
  note?: string;
}

/**
 * The address boards dial: the link's own host when it listens on one address, else the first
 * IPv4 address of this machine that is not loopback; 127.0.0.1 (saying so) when there is none.
 */
export function boardsReachHubAt(linkHost: string, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): BoardsReachHubAt {
  if (linkHost !== '' && linkHost !== '0.0.0.0' && linkHost !== '::') {
    return isLoopbackHost(linkHost) ? { host: linkHost, note: `the hub's link listens on ${linkHost} only, so only boards on this machine can reach it (link.host in the hub config)` } : { host: linkHost };
  }
  for (const addresses of Object.values(interfaces)) {
    const lan = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (lan !== undefined) return { host: lan.address };
  }
  return { host: '127.0.0.1', note: 'this machine has no network address but loopback, so 127.0.0.1 is given: it works only for a board on this machine; put the address boards reach the hub at in its place' };
}

export interface BoardLink {
  host: string;
  port: number;
  deviceId: string;
  token: string;
  /** The hub certificate's SHA-256 the board pins, when the link has TLS. */
  fingerprint?: string;
}

/** The firmware's config/hub.json (docs/firmware.md), on one line as the docs show it. */
export function firmwareHubJson(link: BoardLink): string {
  const fields: Array<[string, string | number]> = [
    ['host', link.host],
    ['port', link.port],
    ['device_id', link.deviceId],
    ['token', link.token],
  ];
  if (link.fingerprint !== undefined) fields.push(['fingerprint', link.fingerprint]);
  return `{ ${fields.map(([key, value]) => `"${key}": ${JSON.stringify(value)}`).join(', ')} }`;
}

/** `HOST:PORT` as --hub takes it, with brackets around an IPv6 address. */
export function hubArgument(host: string, port: number): string {
  return hostPort(host, port);
}

// What a board needs to link to this hub, rendered once for everyone who shows it: `tether hub
// add-device`, `tether install --hub` and the API's POST /api/devices (and its dashboard). It
// is the hub's address as boards on the LAN reach it, the firmware's config/hub.json, the
// command for a board run by `tether device`, and the `tether install` line for a USB board,
// with the certificate's fingerprint to pin when the link has TLS.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { bracketHost, hostPort, isLoopbackHost } from '../common/address.js';
import type { HubConfig } from './config.js';
import type { BoardLinkMaterial } from './types.js';
import { linkCertFiles } from './link-cert.js';
import { readLinkTls } from './link-server.js';

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

/** A board's link and what is known of the address in it. */
export interface BoardLinkFor {
  link: BoardLink;
  at: BoardsReachHubAt;
  /** link.tls is auto and the hub has not made its certificate yet, so the fingerprint is the placeholder FINGERPRINT. */
  notMadeYet: boolean;
}

/**
 * What a board registered as `id` needs to link to the hub of this config, read from the config
 * and the data folder (the hub may not run: tether hub add-device, tether install).
 */
export function boardLinkFor(config: HubConfig, id: string, token: string): BoardLinkFor {
  const at = boardsReachHubAt(config.link.host);
  // With link TLS the board pins the hub's certificate: nothing else on the LAN can stand in for it.
  const tlsFiles = config.link.tls === 'auto' ? linkCertFiles(config.data) : config.link.tls;
  const notMadeYet = config.link.tls === 'auto' && tlsFiles !== undefined && !existsSync(tlsFiles.cert);
  const fingerprint = tlsFiles === undefined ? undefined : notMadeYet ? 'FINGERPRINT' : readLinkTls(tlsFiles).fingerprint;
  return { link: { host: at.host, port: config.link.port, deviceId: id, token, ...(fingerprint !== undefined ? { fingerprint } : {}) }, at, notMadeYet };
}

/** The hub's API address and data folder, for the `tether install` line. */
export interface InstallTarget {
  /** The hub's HTTP address, e.g. http://127.0.0.1:7340. */
  hubUrl: string;
  /** The hub's data folder, where tether install finds the registry and the admin token. */
  data: string;
  /**
   * The link tether install writes into config/hub.json with only --hub-data: it reads the link
   * from a hub config, the defaults without --hub-config. When it is not this board's, a note says
   * to add --hub-config.
   */
  linkFromDefaults: BoardLink;
}

/** The hub's HTTP address as a URL this machine reaches: a wildcard listener is reached at 127.0.0.1. */
export function hubHttpUrl(http: { host: string; port: number }): string {
  return `http://${hostForUrl(http.host)}:${http.port}`;
}

/** A listening host as this machine reaches it in a URL: a wildcard address as 127.0.0.1. */
export function hostForUrl(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bracketHost(host);
}

/** Renders the material of a board link; `tokenFile` defaults to ID.token. */
export function boardLinkMaterial(made: BoardLinkFor, options: { tokenFile?: string; install?: InstallTarget } = {}): BoardLinkMaterial {
  const { link, at, notMadeYet } = made;
  const tokenFile = options.tokenFile ?? `${link.deviceId}.token`;
  const pin = link.fingerprint === undefined ? '' : ` --hub-fingerprint ${link.fingerprint}`;
  const installTokenFile = `${link.deviceId}.hub-token`;
  const notes: string[] = [];
  if (notMadeYet) notes.push('link.tls is auto and the hub has not made its certificate yet; it makes it at its first start and prints the fingerprint then: put it in place of FINGERPRINT');
  if (at.note !== undefined) notes.push(at.note);
  if (link.port === 0) notes.push('link.port is 0, so the hub picks its port at each start; put the port `tether hub` prints in place of 0');
  if (options.install !== undefined && firmwareHubJson(options.install.linkFromDefaults) !== firmwareHubJson(link)) {
    notes.push(
      `the hub's link is not at its defaults (this one is ${hubArgument(at.host, link.port)}${link.fingerprint !== undefined ? ' with TLS' : ''}): add --hub-config FILE, the config the hub runs with, to the tether install line, or the config/hub.json it writes will not reach this hub`,
    );
  }
  return {
    hubJson: firmwareHubJson(link),
    hubJsonPath: 'config/hub.json',
    tokenFile,
    deviceCommand: `tether device --config board.yaml --hub ${hubArgument(at.host, link.port)}${pin} --id ${link.deviceId} --token-file ${tokenFile}`,
    ...(options.install !== undefined
      ? { installCommand: `tether install --name ${link.deviceId} --hub ${options.install.hubUrl} --hub-data ${shellWord(options.install.data)}` }
      : {}),
    installTokenFile,
    notes,
  };
}

/** A path as one shell word: quoted when it holds anything but the usual path characters. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * What a board needs to link to the hub that runs now (the API's answers): the link's real port
 * (link.port 0 picks one at each start) and its certificate, and the install line for its machine.
 */
export function runningHubBoardLink(
  hub: {
    config: HubConfig;
    /** The config tether install --hub-data loads: the defaults with the hub's data folder (parseHubConfig({data})). */
    installConfig: HubConfig;
    linkPort: number;
    fingerprint: string | undefined;
    http: { host: string; port: number };
  },
  id: string,
  token: string,
): BoardLinkMaterial {
  const at = boardsReachHubAt(hub.config.link.host);
  const link: BoardLink = { host: at.host, port: hub.linkPort, deviceId: id, token, ...(hub.fingerprint !== undefined ? { fingerprint: hub.fingerprint } : {}) };
  const linkFromDefaults = boardLinkFor(hub.installConfig, id, token).link;
  return boardLinkMaterial({ link, at, notMadeYet: false }, { install: { hubUrl: hubHttpUrl(hub.http), data: hub.config.data, linkFromDefaults } });
}

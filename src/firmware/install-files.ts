// The config files `tether install` writes on a board (docs/firmware.md, "Configuration"), and
// the order its files go in. Every file is made the same way from the same inputs, so that a
// second run finds them unchanged on the board and copies nothing.
import type { BoardFile } from './board-files.js';

const enc = new TextEncoder();

export interface WifiSettings {
  ssid: string;
  password: string;
  /** Two letters, e.g. "DE": the WiFi chip's channels and transmit limits. */
  country?: string | undefined;
}

export function jsonFile(path: string, value: unknown): BoardFile {
  return { path, data: enc.encode(`${JSON.stringify(value)}\n`) };
}

/** config/wifi.json */
export function wifiFile(wifi: WifiSettings): BoardFile {
  return jsonFile('config/wifi.json', { ssid: wifi.ssid, password: wifi.password, ...(wifi.country !== undefined ? { country: wifi.country.toUpperCase() } : {}) });
}

/**
 * config/device.json when none is given: the board's name and one admin token for direct mode
 * (the firmware refuses to start without an auth section, so that no board is left open by
 * accident). Everything else takes the firmware's defaults.
 */
export function defaultDeviceConfig(name: string, adminToken: string): Record<string, unknown> {
  return { name, auth: { tokens: [{ token: adminToken, scope: 'admin' }] } };
}

/** Board ids at the hub, which are also the board's name when none is given separately. */
export const BOARD_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The order files are written: config first (small, and hub.json carries a token the hub has
 * just registered), then the firmware's modules, and main.py and boot.py last, so that a copy cut
 * short never leaves a board that starts half a firmware at its next power-up.
 */
export function installOrder(files: readonly BoardFile[]): BoardFile[] {
  const rank = (path: string): number => (path.startsWith('config/') ? 0 : path === 'boot.py' ? 2 : path === 'main.py' ? 3 : 1);
  return [...files].sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

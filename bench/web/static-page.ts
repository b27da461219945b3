// The web bench's baseline page: the same boards as the dashboard shows them, as one static HTML
// table with the dashboard's own stylesheet and no script, served from memory by a plain HTTP
// server on loopback. What a browser needs to show a list of that size at all, and to echo a key
// typed into a search box on it, without any of the dashboard's code.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BUILT_DASHBOARD_DIR } from '../../src/hub/api/dashboard.js';
import type { DeviceSensorSummary, DeviceView } from '../../src/hub/types.js';

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One board's row, as the dashboard draws it (the same cells and classes). */
function row(device: DeviceView, sensors: readonly DeviceSensorSummary[]): string {
  const values = sensors.map((s) => `${escape(s.sensor)} ${s.lastValue}${s.unit === null ? '' : ` ${escape(s.unit)}`}`).join('; ');
  return (
    `<tr data-board="${escape(device.id)}"><th scope="row" class="board-name"><a href="#">${escape(device.name)}</a></th>` +
    `<td class="board-status"><span class="status ${device.online ? 'on' : 'off'}">${device.online ? 'online' : 'offline'}</span></td>` +
    `<td class="board-seen" data-label="Last seen">${device.online ? 'now' : 'never'}</td><td class="wide">${escape(device.firmware) || '—'}</td>` +
    `<td class="board-signal"><span class="signal">${device.rssi === null ? '—' : `${device.rssi} dBm`}</span></td><td class="sensors">${values || '—'}</td></tr>`
  );
}

export function staticBoardsPage(devices: readonly DeviceView[], sensors: readonly DeviceSensorSummary[]): string {
  const byDevice = new Map<string, DeviceSensorSummary[]>();
  for (const s of sensors) byDevice.set(s.device, [...(byDevice.get(s.device) ?? []), s]);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Boards</title><link rel="stylesheet" href="/style.css"></head><body><main id="main">
<h1>Boards</h1><div class="filters" role="search"><label>Search <input type="search"></label></div>
<div class="table-wrap"><table class="boards"><thead><tr><th scope="col">Board</th><th scope="col">Status</th><th scope="col">Last seen</th><th scope="col" class="wide">Firmware</th><th scope="col">Signal</th><th scope="col">Sensors</th></tr></thead>
<tbody>${devices.map((d) => row(d, byDevice.get(d.id) ?? [])).join('\n')}</tbody></table></div></main></body></html>`;
}

/** Serves `page` at `/` and the dashboard's built stylesheet at `/style.css`; resolves with its address. */
export async function serveStaticPage(page: string): Promise<{ url: string; close(): Promise<void> }> {
  const assets = path.join(BUILT_DASHBOARD_DIR, 'assets');
  const css = fs.readdirSync(assets).find((f) => f.endsWith('.css'));
  if (css === undefined) throw new Error(`no stylesheet in ${assets}: run npm run build`);
  const style = fs.readFileSync(path.join(assets, css));
  const server = http.createServer((req, res) => {
    const [type, body] = req.url === '/style.css' ? ['text/css', style] : ['text/html; charset=utf-8', page];
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// `tether demo`: a hub with three simulated boards dialing in, readings arriving and rules
// firing — everything Tether does, on this machine, with no hardware and no other service.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parseListenPort } from './arguments.js';
import { createConsoleLogger } from './console-logger.js';
import { CliFailure, type CliContext } from './context.js';
import { printHubBanner } from './hub-command.js';
import { listenFailure, runUntilSignal } from './until-signal.js';
import type { Logger } from '../device/logger.js';
import type { RunningDevice } from '../device/runtime.js';
import type { HubConfig } from '../hub/config.js';
import type { Hub } from '../hub/hub.js';

interface DemoFlags {
  httpPort?: number;
  linkPort?: number;
  data?: string;
  mqtt?: string;
  verbose?: boolean;
}

const EXAMPLES = `
The boards: greenhouse and shed (the demo bench: air, heater and sink sensors, a fan, a heater,
a relay, an LED and a motion sensor) and porch (a lamp and a motion sensor). The rules:
  porch-motion-lights-greenhouse  motion on the porch lights the greenhouse LED for 5 s
  humid-greenhouse-runs-shed-fan  greenhouse air above 35 %RH runs the shed fan at 60 %, leased 30 s
  porch-motion-on-shed-led        the shed LED mirrors the porch motion sensor

Examples:
  $ tether demo                          API on 127.0.0.1:7340, boards on 127.0.0.1:7341
  $ tether demo --http-port 0 --link-port 0
  $ tether demo --data ./demo-data       keep the data (default: a temp folder, removed at exit)
  $ tether demo --mqtt mqtt://127.0.0.1:1883
                                         also bridge the boards to an MQTT broker: Home Assistant
                                         discovers them (docs/mqtt.md)`;

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a hub with three simulated boards, readings and rules: Tether end to end, no hardware needed')
    .option('--http-port <port>', 'API port, 0 for any free port (default 7340)', parseListenPort)
    .option('--link-port <port>', 'port the boards dial, 0 for any free port (default 7341)', parseListenPort)
    .option('--data <dir>', 'data folder to keep (default: a temp folder removed at exit)')
    .option('--mqtt <url>', 'bridge the boards to this MQTT broker (mqtt://host:port), with Home Assistant discovery')
    .addOption(new Option('--verbose', 'also log debug messages'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DemoFlags) => runDemo(flags, ctx));
}

function demoHubConfig(data: string, flags: { httpPort?: number; linkPort?: number; mqtt?: string }): object {
  return {
    data,
    ...(flags.mqtt !== undefined ? { mqtt: { url: flags.mqtt } } : {}),
    link: { host: '127.0.0.1', port: flags.linkPort ?? 7341 },
    http: { host: '127.0.0.1', port: flags.httpPort ?? 7340 },
    telemetry: { interval_ms: 2000 },
    rules: [
      {
        name: 'porch-motion-lights-greenhouse',
        when: { device: 'porch', pin: 22, edge: 'rising' },
        then: { device: 'greenhouse', pin: 25, value: 1, lease_s: 5 },
      },
      {
        name: 'humid-greenhouse-runs-shed-fan',
        when: { device: 'greenhouse', sensor: 'air', quantity: 'humidity', above: 35 },
        then: { device: 'shed', pin: 18, duty: 0.6, freq: 25_000, lease_s: 30 },
      },
    ],
    bindings: [{ name: 'porch-motion-on-shed-led', from: { device: 'porch', pin: 22 }, to: { device: 'shed', pin: 25, lease_s: 6 } }],
  };
}

export interface DemoOptions {
  httpPort?: number;
  linkPort?: number;
  /** The data folder; a temporary one (removed by close) when absent. */
  data?: string;
  /** A broker URL: the hub bridges the boards to it (docs/mqtt.md). */
  mqtt?: string;
  logger: Logger;
}

export interface Demo {
  hub: Hub;
  config: HubConfig;
  /** greenhouse, shed and porch, in that order. */
  devices: RunningDevice[];
  /** Stops the boards and the hub, and removes a temporary data folder. */
  close(): Promise<void>;
}

/** The demo's hub and its three simulated boards, linked; what `tether demo` runs (and the dashboard tests drive). */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const [{ parseHubConfig }, { startHub }, { parseBoardConfig }, demoBoards, { openHardware }, { startDevice }, { SystemClock }] = await Promise.all([
    import('../hub/config.js'),
    import('../hub/hub.js'),
    import('../device/config.js'),
    import('../device/demo-board.js'),
    import('../device/backends/index.js'),
    import('../device/runtime.js'),
    import('../common/clock.js'),
  ]);
  const temporary = options.data === undefined;
  const data = options.data !== undefined ? path.resolve(options.data) : fs.mkdtempSync(path.join(os.tmpdir(), 'tether-demo-'));
  const config = parseHubConfig(demoHubConfig(data, options), 'demo hub');
  let hub: Hub;
  try {
    hub = await startHub({ config, logger: options.logger });
  } catch (err) {
    if (temporary) fs.rmSync(data, { recursive: true, force: true });
    const which = (err as { port?: number }).port === config.link.port ? '--link-port' : '--http-port';
    throw new CliFailure(listenFailure(err, '127.0.0.1', (err as { port?: number }).port ?? config.http.port, which) ?? `cannot start the demo hub: ${String(err)}`);
  }
  const clock = new SystemClock();
  const boards = [
    { id: 'greenhouse', raw: { ...demoBoards.DEMO_BOARD_CONFIG, name: 'greenhouse', listen: { host: '127.0.0.1', port: 0 } } },
    { id: 'shed', raw: { ...demoBoards.DEMO_BOARD_CONFIG, name: 'shed', listen: { host: '127.0.0.1', port: 0 }, sim: { seed: 2, pir: [] } } },
    { id: 'porch', raw: demoBoards.PORCH_BOARD_CONFIG },
  ];
  const devices: RunningDevice[] = [];
  for (const { id, raw } of boards) {
    // The registry keeps only hashes, so each demo run gives its boards fresh tokens.
    const token = (await hub.store.getDevice(id)) === undefined ? (await hub.store.addDevice(id, { name: id })).token : await hub.store.rotateToken(id);
    // Direct mode too takes a token, random, never shown nor stored: another user of this
    // machine drives the demo boards through the hub's API (which needs its API token) or not at all.
    const direct = { tokens: [{ token: randomBytes(24).toString('base64url'), scope: 'admin' }] };
    const boardConfig = parseBoardConfig({ ...raw, auth: direct }, `demo board ${id}`);
    const hardware = await openHardware(boardConfig, { sim: true, clock, source: `demo board ${id}` });
    devices.push(
      await startDevice({
        config: boardConfig,
        hardware,
        clock,
        logger: createConsoleLogger({ verbose: false, stream: { write: () => true } }),
        host: '127.0.0.1',
        port: 0,
        hub: { host: hub.link.host, port: hub.link.port, deviceId: id, token },
      }),
    );
  }
  return {
    hub,
    config,
    devices,
    close: async () => {
      for (const device of devices) await device.close();
      await hub.close();
      if (temporary) fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

async function runDemo(flags: DemoFlags, ctx: CliContext): Promise<void> {
  const logger = createConsoleLogger({ verbose: flags.verbose === true });
  const demo = await startDemo({ ...flags, logger });
  const { hub, config, devices } = demo;
  const stopUpdates = hub.facade.onUpdate((update) => {
    if (update.type === 'event' && update.event.type === 'rule_fired') ctx.out(`rule ${String(update.event.data['rule'])} fired on ${update.device}`);
  });
  await runUntilSignal(
    logger,
    'stopping the boards and the hub',
    async () => {
      stopUpdates();
      await demo.close();
    },
    () => {
      printHubBanner(ctx, hub, config);
      ctx.out(`boards: ${devices.map((d) => `${d.board.config.name} (127.0.0.1:${d.port})`).join(', ')}; their direct mode takes only tokens this run keeps in memory: drive them through the API`);
      ctx.out(`try:    curl -H "Authorization: Bearer $(cat ${hub.apiToken.path})" http://127.0.0.1:${hub.http.port}/api/devices`);
    },
  );
}

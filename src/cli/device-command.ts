// `tether device`: run a board on this machine (simulated with --sim) and serve protocol v1.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseListenPort } from './arguments.js';
import { createConsoleLogger } from './console-logger.js';
import { CliFailure, EXIT_USAGE, type CliContext } from './context.js';
import { DEVICE_TOKEN, addTokenOptions, resolveToken } from './token-options.js';
import { listenFailure, runUntilSignal } from './until-signal.js';
import { hostPort } from '../common/address.js';
import { normalizeFingerprint } from '../link/tls-pin.js';

interface DeviceFlags {
  config?: string;
  sim?: boolean;
  host?: string;
  port?: number;
  pymodaqPort?: number;
  verbose?: boolean;
  hub?: { host: string; port: number };
  hubFingerprint?: string;
  id?: string;
  token?: string;
  tokenFile?: string;
}

const EXAMPLES = `
Prints one line "… listening on HOST:PORT, …" on stdout once it accepts
connections; logs go to stderr. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Examples:
  $ tether device --sim
  tether device "demo" (sim) listening on 127.0.0.1:12345, plain TCP
  $ tether device --sim --host 0.0.0.0 --port 0      any free port, all interfaces
  $ tether device --config bench.yaml --sim           your board, simulated chips
  $ tether device --config board.yaml                 real pins: the Linux backend (a Raspberry Pi)
  $ tether device --config examples/bench.yaml --sim  also serves PyMoDAQ's Raspberry plugin on 5555
  tether device "thermal-bench" (sim) listening on 127.0.0.1:12345, plain TCP; PyMoDAQ (ZeroMQ) on 127.0.0.1:5555
  $ tether doctor --config board.yaml                 what this machine lacks for it, and the fix
  $ tether device --sim --hub hub.local:7341 --id shed --token-file shed.token
                                                      hub mode: also dial the hub and stay linked
                                                      (tether hub add-device shed --out shed.token
                                                      makes the file; or set TETHER_DEVICE_TOKEN)`;

export function registerDevice(program: Command, ctx: CliContext): void {
  const device = program
    .command('device')
    .description("run a board: serve protocol v1 (and PyMoDAQ's plugin, with pymodaq: in the config) for a board config, on real (Linux) or simulated hardware")
    .option('--config <file>', 'board config (YAML or JSON)')
    .option('--sim', 'simulated pins and chips; without --config, runs the demo board')
    .option('--host <host>', 'address to listen on, for every listener (default: listen.host from the config)')
    .option('--port <port>', 'TCP port, 0 for any free port (default: listen.port from the config, else 12345)', parseListenPort)
    .option('--pymodaq-port <port>', "PyMoDAQ's ZeroMQ port, 0 for any free port (default: pymodaq.port from the config, else 5555; needs pymodaq: in the config)", parseListenPort)
    .option('--hub <host:port>', 'hub mode: also dial this hub and keep the link up', parseHubAddress)
    .option('--hub-fingerprint <sha256>', "hub mode over TLS, trusting only the hub certificate of this SHA-256 fingerprint (the hub logs it at start)", parseFingerprint)
    .option('--id <id>', "this board's device id at the hub (default: the config's name)");
  addTokenOptions(device, DEVICE_TOKEN)
    .addOption(new Option('--verbose', 'also log debug messages'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DeviceFlags, command: Command) => {
      if (flags.config === undefined && flags.sim !== true) {
        command.error('error: say which board to run: --config FILE, or --sim for the simulated demo board', {
          exitCode: EXIT_USAGE,
          code: 'tether.usage',
        });
      }
      const token = flags.hub === undefined ? undefined : resolveToken(flags, DEVICE_TOKEN, (m) => ctx.err(`warning: ${m}`));
      if (flags.hub !== undefined && token === undefined) {
        command.error("error: --hub needs the board's token: --token-file FILE (a file holding it), or TETHER_DEVICE_TOKEN", { exitCode: EXIT_USAGE, code: 'tether.usage' });
      }
      await runDevice(flags, token ?? '', ctx);
    });
}

async function runDevice(flags: DeviceFlags, token: string, ctx: CliContext): Promise<void> {
  // Loaded on demand so that `tether send` does not load the board, drivers and simulator.
  const [{ loadBoardConfig, parseBoardConfig }, { DEMO_BOARD_CONFIG }, { openHardware }, { startDevice }, { SystemClock }] = await Promise.all([
    import('../device/config.js'),
    import('../device/demo-board.js'),
    import('../device/backends/index.js'),
    import('../device/runtime.js'),
    import('../common/clock.js'),
  ]);
  const sim = flags.sim === true;
  const logger = createConsoleLogger({ verbose: flags.verbose === true });
  // ConfigError's message already lists every problem with its path.
  const config = flags.config !== undefined ? await loadBoardConfig(flags.config) : parseBoardConfig(DEMO_BOARD_CONFIG, 'demo board');
  if (flags.pymodaqPort !== undefined && config.pymodaq === undefined) {
    throw new CliFailure(`--pymodaq-port: ${flags.config ?? 'the demo board'} has no pymodaq: section; add one to serve PyMoDAQ (docs/pymodaq.md)`);
  }
  const clock = new SystemClock();
  let hardware;
  try {
    hardware = await openHardware(config, { sim, clock, source: flags.config ?? 'demo board' });
  } catch (err) {
    throw new CliFailure(err instanceof Error ? err.message : String(err));
  }
  const host = flags.host ?? config.listen.host;
  const port = flags.port ?? config.listen.port;
  const pymodaqPort = flags.pymodaqPort ?? config.pymodaq?.port;
  if (port !== 0 && port === pymodaqPort) {
    throw new CliFailure(`port ${port} would serve both protocol v1 and PyMoDAQ; give one of them another (--port, --pymodaq-port, or listen.port and pymodaq.port in the config)`);
  }
  let device;
  try {
    const tls = flags.hubFingerprint === undefined ? {} : { tls: { fingerprint: flags.hubFingerprint } };
    const hub = flags.hub === undefined ? undefined : { ...flags.hub, deviceId: flags.id ?? config.name, token, ...tls };
    device = await startDevice({ config, hardware, clock, logger, host, port, ...(flags.pymodaqPort !== undefined ? { pymodaqPort: flags.pymodaqPort } : {}), ...(hub ? { hub } : {}) });
  } catch (err) {
    hardware.close();
    // The PyMoDAQ listener words its own failures (src/device/transport/zmq.ts), without an errno code.
    const listen = listenFailure(err, host, port, '--port');
    if (listen !== undefined) throw new CliFailure(listen);
    // A chip that does not answer, a bad TLS key file, …: the message says what to check.
    throw new CliFailure(`cannot start the board: ${err instanceof Error ? err.message : String(err)}`);
  }
  const listening = device.listeners.map((l) => (l.id === 'tcp' ? `listening on ${hostPort(l.host, l.port)}, ${l.label}` : `${l.label} on ${hostPort(l.host, l.port)}`)).join('; ');
  const kind = sim ? 'sim' : hardware.platform;
  // The last line of defence for the board's promise: whatever bug brings the process down,
  // outputs go to their safe values before it exits.
  const running = device;
  process.once('uncaughtException', (err) => {
    logger.error(`crashed: ${err.stack ?? err.message}; putting pins in their safe state and exiting`);
    running.board.close();
    process.exit(70);
  });
  await runUntilSignal(logger, 'closing connections and putting pins in their safe state', () => device.close(), () =>
    ctx.out(`tether device ${JSON.stringify(config.name)} (${kind}) ${listening}`),
  );
}

function parseFingerprint(value: string): string {
  const fingerprint = normalizeFingerprint(value);
  if (fingerprint === undefined) throw new InvalidArgumentError("expected the SHA-256 of the hub's certificate: 64 hex digits, colons allowed");
  return fingerprint;
}

function parseHubAddress(value: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. hub.local:12346');
  }
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

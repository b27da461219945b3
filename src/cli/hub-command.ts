// `tether hub`: run the hub (boards dial in; REST/WebSocket API; rules), and manage its
// registry of boards: `tether hub add-device ID` prints the board's token once.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parseListenPort } from './arguments.js';
import { createConsoleLogger } from './console-logger.js';
import { CliFailure } from './connection-options.js';
import type { CliContext } from './context.js';
import { listenFailure, runUntilSignal } from './until-signal.js';
import type { HubConfig } from '../hub/config.js';
import type { HubStore } from '../hub/store/store.js';

interface HubFlags {
  config?: string;
  data?: string;
  httpPort?: number;
  linkPort?: number;
  verbose?: boolean;
}

const EXAMPLES = `
Embedded defaults: one process, SQLite under the data folder, no other service.
Prints the boards' address, the API address and a sign-in link on stdout; logs go to stderr.

Examples:
  $ tether hub                                  boards on :7341, API on 127.0.0.1:7340
  $ tether hub --config hub.yaml                rules, telemetry interval, ports (docs/hub-config.md)
  $ tether hub --data /var/lib/tether --http-port 8080
  $ tether hub add-device shed --name "Garden shed"
  $ tether hub devices`;

export function registerHub(program: Command, ctx: CliContext): void {
  const hub = program
    .command('hub')
    .description('run the hub: boards dial in and stay linked; readings, rules and the REST/WebSocket API')
    .option('--config <file>', 'hub config (YAML or JSON); see docs/hub-config.md')
    .option('--data <dir>', 'data folder: the database and the API token (default: data from the config, else ./tether-data)')
    .option('--http-port <port>', 'API port, 0 for any free port (default 7340)', parseListenPort)
    .option('--link-port <port>', 'port boards dial, 0 for any free port (default 7341)', parseListenPort)
    .addOption(new Option('--verbose', 'also log debug messages'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: HubFlags) => runHub(flags, ctx));

  addStoreOptions(
    hub
      .command('add-device')
      .argument('<id>', 'the board id: 1–64 of A–Z a–z 0–9 _ . -')
      .description("register a board and print its token (the hub keeps only the token's hash)")
      .option('--name <name>', 'a name to show (default: the id)')
      .option('--rotate', 'the board exists: give it a new token (the old one stops working)')
      .addHelpText('after', '\nExample:\n  $ tether hub add-device shed --name "Garden shed"'),
  ).action(async (id: string, flags: HubFlags & { name?: string; rotate?: boolean }) => {
    await withStore(flags, (store, config) => {
      const token = flags.rotate === true ? store.rotateToken(id) : store.addDevice(id, { ...(flags.name !== undefined ? { name: flags.name } : {}) }).token;
      ctx.out(`${flags.rotate === true ? 'new token for' : 'registered'} ${id}; its token (shown once, keep it secret):`);
      ctx.out(token);
      ctx.out(`run it with: tether device --sim --hub HUB-ADDRESS:${config.link.port} --id ${id} --token ${token}`);
    });
  });

  addStoreOptions(hub.command('remove-device').argument('<id>', 'the board id').description('unregister a board (its readings stay until retention removes them)')).action(
    async (id: string, flags: HubFlags) => {
      await withStore(flags, (store) => {
        if (!store.removeDevice(id)) throw new CliFailure(`no board ${JSON.stringify(id)} is registered; list them with: tether hub devices`);
        ctx.out(`removed ${id}`);
      });
    },
  );

  addStoreOptions(hub.command('devices').description('list the registered boards')).action(async (flags: HubFlags) => {
    await withStore(flags, (store) => {
      const devices = store.listDevices();
      if (devices.length === 0) ctx.out('no boards registered yet; add one with: tether hub add-device ID');
      for (const d of devices) {
        const seen = d.lastSeen === null ? 'never seen' : `last seen ${new Date(d.lastSeen).toISOString()}`;
        ctx.out(`${d.id}\t${d.name}\t${d.firmware || '-'}\t${seen}`);
      }
    });
  });
}

function addStoreOptions(command: Command): Command {
  return command.option('--config <file>', 'hub config (YAML or JSON)').option('--data <dir>', 'data folder (default: data from the config, else ./tether-data)');
}

async function loadConfig(flags: HubFlags): Promise<HubConfig> {
  const { loadHubConfig, parseHubConfig } = await import('../hub/config.js');
  const base = flags.config !== undefined ? await loadHubConfig(flags.config) : parseHubConfig({}, 'defaults');
  return {
    ...base,
    data: path.resolve(flags.data ?? base.data),
    link: { ...base.link, ...(flags.linkPort !== undefined ? { port: flags.linkPort } : {}) },
    http: { ...base.http, ...(flags.httpPort !== undefined ? { port: flags.httpPort } : {}) },
  };
}

async function withStore(flags: HubFlags, use: (store: HubStore, config: HubConfig) => void): Promise<void> {
  const config = await loadConfig(flags);
  const { HubStore } = await import('../hub/store/store.js');
  const { ensureDataFolder } = await import('../hub/data-folder.js');
  ensureDataFolder(config.data);
  const store = HubStore.open(path.join(config.data, 'tether.db'));
  try {
    use(store, config);
  } catch (err) {
    // HubError (conflict, not_found, bad_request) says what to do; show it as a failure, not a crash.
    if (err instanceof Error && err.name === 'HubError') throw new CliFailure(err.message);
    throw err;
  } finally {
    store.close();
  }
}

async function runHub(flags: HubFlags, ctx: CliContext): Promise<void> {
  const config = await loadConfig(flags);
  const logger = createConsoleLogger({ verbose: flags.verbose === true });
  const { startHub } = await import('../hub/hub.js');
  let hub;
  try {
    hub = await startHub({ config, logger });
  } catch (err) {
    const port = (err as { port?: number }).port ?? config.http.port;
    const listen = listenFailure(err, config.link.host, port, port === config.link.port ? '--link-port' : '--http-port');
    throw new CliFailure(listen ?? `cannot start the hub: ${err instanceof Error ? err.message : String(err)}`);
  }
  printHubBanner(ctx, hub, config);
  await runUntilSignal(logger, 'closing board links and the API', () => hub.close());
}

/** The lines `tether hub` and `tether demo` print once they listen. */
export function printHubBanner(
  ctx: CliContext,
  hub: { link: { host: string; port: number }; http: { host: string; port: number }; apiToken: { token: string; created: boolean; path: string } },
  config: HubConfig,
): void {
  const url = `http://${hostForUrl(hub.http.host)}:${hub.http.port}`;
  ctx.out(`tether hub: boards dial ${hostForUrl(hub.link.host)}:${hub.link.port}; API on ${url}/api (data in ${config.data})`);
  ctx.out(`dashboard: ${url}/#token=${hub.apiToken.token}  (this link signs you in)`);
  if (hub.apiToken.created) ctx.out(`a new API token was written to ${hub.apiToken.path} (mode 600); use it as "Authorization: Bearer <token>"`);
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

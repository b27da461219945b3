// `tether hub`: run the hub (boards dial in; REST/WebSocket API; rules), and manage its
// registry of boards (`tether hub add-device ID` prints the board's config with its token, once),
// its API tokens (`tether hub token …`) and its firmware releases (`tether hub release …`).
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parseListenPort } from './arguments.js';
import { createConsoleLogger } from './console-logger.js';
import { CliFailure, type CliContext } from './context.js';
import { makeSecret } from './token-options.js';
import { listenFailure, runUntilSignal } from './until-signal.js';
import { ADMIN_TOKEN_NAME, API_SCOPES, type ApiScope } from '../hub/api-scope.js';
import { API_TOKEN_FILE } from '../hub/api-token.js';
import { boardLinkFor, boardLinkMaterial, hostForUrl, hubHttpUrl } from '../hub/board-link-material.js';
import type { HubConfig } from '../hub/config.js';
import type { ReleaseStore } from '../hub/store/releases.js';
import type { HubStore } from '../hub/store/port.js';
import { formatBytes } from './update-files.js';

export interface HubFlags {
  config?: string;
  data?: string;
  httpPort?: number;
  linkPort?: number;
  verbose?: boolean;
}

const EXAMPLES = `
Embedded defaults: one process, SQLite under the data folder, no other service.
Prints the boards' address and the API address on stdout, and the dashboard's sign-in
link when it makes the admin token (the first start; later: tether hub token show).
Logs go to stderr.

Examples:
  $ tether hub                                  boards on :7341, API on 127.0.0.1:7340
  $ tether hub --config hub.yaml                rules, telemetry interval, ports (docs/hub-config.md)
  $ tether hub --data /var/lib/tether --http-port 8080
  $ tether hub add-device shed --name "Garden shed"  the board's config, with its token
  $ tether hub devices
  $ tether hub token show                       the admin token and the sign-in link
  $ tether hub token create kitchen-tablet --scope read
  $ tether hub release add firmware             keep a firmware folder as a release`;

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
      .description("register a board and print what it needs to link: its config/hub.json (firmware) and the tether device command; the token is shown this once (the hub keeps only its hash)")
      .option('--name <name>', 'a name to show (default: the id)')
      .option('--rotate', 'the board exists: give it a new token (the old one stops working)')
      .option('--out <file>', 'also write the token to this new file, readable only by you, for tether device --token-file')
      .addHelpText('after', '\nExamples:\n  $ tether hub add-device shed --name "Garden shed"\n  $ tether hub add-device pi-garage --out pi-garage.token'),
  ).action(async (id: string, flags: HubFlags & { name?: string; rotate?: boolean; out?: string }) => {
    await withStore(flags, async (store, config) => {
      const token = await makeSecret(flags.out, async () =>
        flags.rotate === true ? store.rotateToken(id) : (await store.addDevice(id, { ...(flags.name !== undefined ? { name: flags.name } : {}) })).token,
      );
      printBoardLink(ctx, { id, rotated: flags.rotate === true, token, out: flags.out, config });
    });
  });

  addStoreOptions(hub.command('remove-device').argument('<id>', 'the board id').description('unregister a board (its readings stay until retention removes them)')).action(
    async (id: string, flags: HubFlags) => {
      await withStore(flags, async (store) => {
        if (!(await store.removeDevice(id))) throw new CliFailure(`no board ${JSON.stringify(id)} is registered; list them with: tether hub devices`);
        ctx.out(`removed ${id}`);
      });
    },
  );

  addStoreOptions(hub.command('devices').description('list the registered boards')).action(async (flags: HubFlags) => {
    await withStore(flags, async (store) => {
      const devices = await store.listDevices();
      if (devices.length === 0) ctx.out('no boards registered yet; add one with: tether hub add-device ID');
      for (const d of devices) {
        const seen = d.lastSeen === null ? 'never seen' : `last seen ${new Date(d.lastSeen).toISOString()}`;
        ctx.out(`${d.id}\t${d.name}\t${d.firmware || '-'}\t${seen}`);
      }
    });
  });

  registerTokenCommands(hub, ctx);
  registerReleaseCommands(hub, ctx);
}

/** `tether hub add-device`'s answer: what the board needs to link, for each kind of board. */
function printBoardLink(ctx: CliContext, a: { id: string; rotated: boolean; token: string; out: string | undefined; config: HubConfig }): void {
  const material = boardLinkMaterial(boardLinkFor(a.config, a.id, a.token), { ...(a.out !== undefined ? { tokenFile: a.out } : {}) });
  ctx.out(`${a.rotated ? 'new token for' : 'registered'} ${a.id}; its token is in the config below, shown this once (keep it secret; the hub keeps only its hash)`);
  ctx.out('');
  ctx.out(`Pico W / ESP32 (Tether firmware): save this as ${material.hubJsonPath} on the board:`);
  ctx.out(material.hubJson);
  ctx.out('');
  ctx.out(
    a.out !== undefined
      ? `tether device (Raspberry Pi or other Linux board): the token is in ${a.out} (mode 600); run:`
      : `tether device (Raspberry Pi or other Linux board): put the token in ${material.tokenFile}, readable only by you (chmod 600), or make it with --out FILE; run:`,
  );
  ctx.out(`  ${material.deviceCommand}`);
  for (const note of material.notes) ctx.out(`note: ${note}`);
}

function registerTokenCommands(hub: Command, ctx: CliContext): void {
  const token = hub.command('token').description("the hub's API tokens: the admin token, and named tokens with a scope (read, control, admin)");

  addStoreOptions(token.command('show').description('print the admin token (<data>/api-token) and the dashboard link that signs in with it')).action(async (flags: HubFlags) => {
    const config = await loadConfig(flags);
    const { ensureApiToken } = await import('../hub/api-token.js');
    const admin = ensureApiToken(config.data);
    ctx.out(`admin token (${admin.path}${admin.created ? ', just made' : ''}): ${admin.token}`);
    ctx.out(`dashboard: ${hubHttpUrl(config.http)}/#token=${admin.token}  (this link signs you in)`);
  });

  addStoreOptions(
    token
      .command('create')
      .argument('<name>', 'what the token is for: 1–64 of A–Z a–z 0–9 _ . -, e.g. kitchen-tablet')
      .description('make a named API token with a scope; it is shown this once (the hub keeps only its hash)')
      .addOption(new Option('--scope <scope>', 'read: dashboards, graphs, the stream; control: also commands; admin: everything').choices(API_SCOPES).makeOptionMandatory())
      .option('--out <file>', 'write the token to this new file, readable only by you, instead of printing it')
      .addHelpText('after', '\nExamples:\n  $ tether hub token create kitchen-tablet --scope read\n  $ tether hub token create greenhouse-script --scope control --out greenhouse-script.token'),
  ).action(async (name: string, flags: HubFlags & { scope: ApiScope; out?: string }) => {
    await withStore(flags, async (store, config) => {
      const token = await makeSecret(flags.out, async () => (await store.apiTokens.create(name, flags.scope)).token);
      if (flags.out !== undefined) {
        ctx.out(`made the API token ${name} (scope ${flags.scope}); it is in ${flags.out} (mode 600), and nowhere else`);
        return;
      }
      ctx.out(`made the API token ${name} (scope ${flags.scope}); shown this once, keep it secret (the hub keeps only its hash):`);
      ctx.out(token);
      ctx.out(`dashboard: ${hubHttpUrl(config.http)}/#token=${token}  (this link signs in with it)`);
    });
  });

  addStoreOptions(token.command('list').description('list the API tokens with their scopes (never the tokens themselves)')).action(async (flags: HubFlags) => {
    await withStore(flags, async (store, config) => {
      ctx.out(`${ADMIN_TOKEN_NAME}\tadmin\t${path.join(config.data, API_TOKEN_FILE)}`);
      for (const t of await store.apiTokens.list()) ctx.out(`${t.name}\t${t.scope}\tmade ${new Date(t.createdAt).toISOString()}`);
    });
  });

  addStoreOptions(token.command('revoke').argument('<name>', 'the token name, as tether hub token list shows it').description('revoke a named API token: the hub refuses it from its next request')).action(
    async (name: string, flags: HubFlags) => {
      await withStore(flags, async (store) => {
        if (name === ADMIN_TOKEN_NAME) throw new CliFailure(`${ADMIN_TOKEN_NAME} is the admin token file; to change it, stop the hub, delete <data>/${API_TOKEN_FILE} and start the hub again`);
        if (!(await store.apiTokens.revoke(name))) throw new CliFailure(`no API token is named ${JSON.stringify(name)}; list them with: tether hub token list`);
        ctx.out(`revoked ${name}; the hub refuses it from its next request`);
      });
    },
  );
}

function registerReleaseCommands(hub: Command, ctx: CliContext): void {
  const release = hub
    .command('release')
    .description("the hub's firmware releases: firmware folders kept in its data folder (<data>/releases/), each named by its VERSION, for updating its boards");

  addStoreOptions(
    release
      .command('add')
      .argument('<dir>', 'the firmware folder, the one with main.py and tether/')
      .description("keep a copy of the firmware folder as a release named by its VERSION (tether/__init__.py): the files a board takes, each with its SHA-256")
      .addHelpText(
        'after',
        `
The files kept are those tether update sends: the .py, .mpy and .json files,
except config/, tests/, boot.py and __pycache__. A version the hub holds already
is refused: raise VERSION, or remove the old release first.

Examples:
  $ tether hub release add firmware
  added release 0.1.1: 35 files, 118.2 KiB (manifest 3f9a0c1e2b7d)
  $ tether hub release add build/firmware --data /var/lib/tether`,
      ),
  ).action(async (dir: string, flags: HubFlags) => {
    await withReleases(flags, async (releases) => {
      const added = await releases.add(dir);
      ctx.out(`added release ${added.version}: ${added.files.length} files, ${formatBytes(added.totalBytes)} (manifest ${added.digest.slice(0, 12)})`);
    });
  });

  addStoreOptions(
    release
      .command('list')
      .description('list the releases, oldest first: version, files, size, when added')
      .addHelpText('after', '\nExample:\n  $ tether hub release list\n  0.1.1\t35 files\t118.2 KiB\tadded 2026-03-01T09:30:00.000Z'),
  ).action(async (flags: HubFlags) => {
    await withReleases(flags, (releases) => {
      const { releases: all, damaged } = releases.scan();
      if (all.length === 0 && damaged.length === 0) ctx.out('no firmware releases yet; add one with: tether hub release add DIR');
      for (const r of all) ctx.out(`${r.version}\t${r.files.length} files\t${formatBytes(r.totalBytes)}\tadded ${new Date(r.addedAt).toISOString()}`);
      for (const d of damaged) ctx.out(`${d.version}\tdamaged: ${d.message}`);
    });
  });

  addStoreOptions(
    release
      .command('remove')
      .argument('<version>', 'the release, as tether hub release list shows it')
      .description("delete a release and its files from the hub's data folder (boards keep what they run)")
      .addHelpText('after', '\nExample:\n  $ tether hub release remove 0.1.0'),
  ).action(async (version: string, flags: HubFlags) => {
    await withReleases(
      flags,
      async (releases) => {
        await releases.remove(version);
        ctx.out(`removed release ${version}`);
      },
      { rollouts: true },
    );
  });
}

/**
 * Runs `use` on the releases of the data folder; a ReleaseError is a failure that says what to
 * do. With `rollouts`, the hub's database is opened too, so that a release a running rollout
 * sends is not removed (the hub may run meanwhile: SQLite lets both read it).
 */
async function withReleases<T>(flags: HubFlags, use: (releases: ReleaseStore) => T | Promise<T>, options: { rollouts?: boolean } = {}): Promise<T> {
  const config = await loadConfig(flags);
  const { ReleaseStore, ReleaseError } = await import('../hub/store/releases.js');
  const { ensureDataFolder } = await import('../hub/data-folder.js');
  ensureDataFolder(config.data);
  const store = options.rollouts === true ? await openStoreOf(config) : undefined;
  try {
    return await use(new ReleaseStore(config.data, store === undefined ? {} : { usedBy: (version) => store.rollouts.usingRelease(version) }));
  } catch (err) {
    if (err instanceof ReleaseError) throw new CliFailure(err.message);
    throw err;
  } finally {
    await store?.close();
  }
}

function addStoreOptions(command: Command): Command {
  return command.option('--config <file>', 'hub config (YAML or JSON)').option('--data <dir>', 'data folder (default: data from the config, else ./tether-data)');
}

export async function loadConfig(flags: HubFlags): Promise<HubConfig> {
  const { loadHubConfig, parseHubConfig } = await import('../hub/config.js');
  const base = flags.config !== undefined ? await loadHubConfig(flags.config) : parseHubConfig({}, 'defaults');
  return {
    ...base,
    data: path.resolve(flags.data ?? base.data),
    link: { ...base.link, ...(flags.linkPort !== undefined ? { port: flags.linkPort } : {}) },
    http: { ...base.http, ...(flags.httpPort !== undefined ? { port: flags.httpPort } : {}) },
  };
}

/** The store the hub with this config uses (its data folder made if need be). */
async function openStoreOf(config: HubConfig): Promise<HubStore> {
  const { ensureDataFolder } = await import('../hub/data-folder.js');
  ensureDataFolder(config.data);
  const { openConfiguredStore } = await import('../hub/store/open-store.js');
  return openConfiguredStore(config);
}

export async function withStore<T>(flags: HubFlags, use: (store: HubStore, config: HubConfig) => T | Promise<T>): Promise<T> {
  const config = await loadConfig(flags);
  const store = await openStoreOf(config);
  try {
    return await use(store, config);
  } catch (err) {
    // HubError (conflict, not_found, bad_request) says what to do; show it as a failure, not a crash.
    if (err instanceof Error && err.name === 'HubError') throw new CliFailure(err.message);
    throw err;
  } finally {
    await store.close();
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
  await runUntilSignal(logger, 'closing board links and the API', () => hub.close(), () => printHubBanner(ctx, hub, config));
}

/**
 * The lines `tether hub` and `tether demo` print once they listen. The admin token is printed
 * (in the sign-in link) only when it was just made; later starts say where it is, so that a log
 * of the hub's output does not hold it.
 */
export function printHubBanner(
  ctx: CliContext,
  hub: { link: { host: string; port: number }; http: { host: string; port: number }; apiToken: { token: string; created: boolean; path: string } },
  config: HubConfig,
): void {
  const url = hubHttpUrl(hub.http);
  ctx.out(`tether hub: boards dial ${hostForUrl(hub.link.host)}:${hub.link.port}; API on ${url}/api (data in ${config.data})`);
  if (config.mqtt !== undefined) {
    const discovery = config.mqtt.discovery ? `, Home Assistant discovery under ${config.mqtt.discovery_prefix}/` : '';
    ctx.out(`mqtt: bridging the boards to ${config.mqtt.url} (topics under ${config.mqtt.base_topic}/${discovery}); the hub serves while the broker is away`);
  }
  if (hub.apiToken.created) {
    ctx.out(`dashboard: ${url}/#token=${hub.apiToken.token}  (this link signs you in)`);
    ctx.out(`a new admin API token was written to ${hub.apiToken.path} (mode 600); use it as "Authorization: Bearer <token>"`);
  } else {
    ctx.out(`dashboard: ${url}/  (sign in with the admin token in ${hub.apiToken.path}; print the sign-in link with: tether hub token show --data ${config.data})`);
  }
}

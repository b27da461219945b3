// `tether watch HOST PORT [--pin N] [--sensor NAME]`: subscribe and print events until Ctrl-C.
import { Argument, Option, type Command } from 'commander';
import { connect, TetherError, type BoardClient, type Edge, type SubscribeOptions } from '../client/index.js';
import { isErrorCode } from '../protocol/index.js';
import { parseMilliseconds, parsePin, parsePort } from './arguments.js';
import { addConnectionOptions, toConnectOptions, type ConnectionFlags } from './connection-options.js';
import { CliFailure, EXIT_FAILED, EXIT_USAGE, type CliContext } from './context.js';
import { formatEvent, styleFor } from './format.js';

interface WatchFlags extends ConnectionFlags {
  pin?: number;
  edge?: Edge;
  sensor?: string;
  interval?: number;
  json?: boolean;
}

export const DEFAULT_SENSOR_INTERVAL_MS = 1000;

const EXAMPLES = `
With neither --pin nor --sensor, prints every event the connection receives
(lease_expired, events_dropped, …). Events go to stdout, one per line; status
messages go to stderr. Stop with Ctrl-C.

Examples:
  $ tether watch 127.0.0.1 12345 --pin 22 --edge rising
  14:02:03.120 edge pin=22 value=1 (sub 1, seq 1, board t=12.345 s)
  $ tether watch 127.0.0.1 12345 --sensor air --interval 2000
  14:02:05.001 reading sensor=air temperature=21.5 °C humidity=40.2 % (sub 1, seq 2, board t=14.226 s)
  $ tether watch board.local 12345 --sensor air --json | jq .values

Exit status: 0 after Ctrl-C, 1 when the connection fails or the board closes it,
2 when the command line is wrong.`;

export function registerWatch(program: Command, ctx: CliContext): void {
  const watch = program
    .command('watch')
    .description("print a board's events: a pin's edges, a sensor's readings, or everything")
    .addArgument(new Argument('<host>', "the board's address"))
    .addArgument(new Argument('<port>', "the board's TCP port").argParser(parsePort))
    .option('--pin <n>', 'subscribe to edges on this input pin', parsePin)
    .addOption(new Option('--edge <edge>', 'which edges to report (with --pin)').choices(['rising', 'falling', 'both']))
    .option('--sensor <name>', 'subscribe to readings of this sensor')
    .option('--interval <ms>', `time between readings (with --sensor; default ${DEFAULT_SENSOR_INTERVAL_MS})`, parseMilliseconds)
    .option('--json', 'print each event as one line of JSON');
  addConnectionOptions(watch).addHelpText('after', EXAMPLES);
  watch.action(async (host: string, port: number, flags: WatchFlags, command: Command) => {
    if (flags.edge !== undefined && flags.pin === undefined) {
      command.error('error: --edge needs --pin, e.g. --pin 22 --edge rising', { exitCode: EXIT_USAGE, code: 'tether.usage' });
    }
    if (flags.interval !== undefined && flags.sensor === undefined) {
      command.error('error: --interval needs --sensor, e.g. --sensor air --interval 2000', { exitCode: EXIT_USAGE, code: 'tether.usage' });
    }
    const client = await connect(await toConnectOptions(host, port, flags, (m) => ctx.err(`warning: ${m}`)));
    await watchEvents(client, flags, ctx);
  });
}

async function watchEvents(client: BoardClient, flags: WatchFlags, ctx: CliContext): Promise<void> {
  let stopped = false;
  const stop = () => {
    stopped = true;
    void client.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // Opened before subscribing, so an event right after the subscribe reply is not missed.
    const stream = client.events();
    const subs = new Set<number>();
    const wanted: { what: string; options: SubscribeOptions }[] = [];
    if (flags.pin !== undefined) {
      wanted.push({
        what: `pin ${flags.pin} (${flags.edge ?? 'default'} edges)`,
        options: { pin: flags.pin, ...(flags.edge === undefined ? {} : { edge: flags.edge }) },
      });
    }
    if (flags.sensor !== undefined) {
      const intervalMs = flags.interval ?? DEFAULT_SENSOR_INTERVAL_MS;
      wanted.push({ what: `sensor ${flags.sensor} every ${intervalMs} ms`, options: { sensor: flags.sensor, intervalMs } });
    }
    const described: string[] = [];
    for (const { what, options } of wanted) {
      const sub = await client.subscribe(options).catch((err: unknown) => {
        if (err instanceof TetherError && isErrorCode(err.code)) throw new CliFailure(`cannot subscribe to ${what}: ${err.code}: ${err.message}`);
        throw err;
      });
      subs.add(sub.id);
      described.push(`${what} as sub ${sub.id}`);
    }
    ctx.err(`watching ${client.remote}: ${described.length === 0 ? 'every event' : described.join(', ')}; Ctrl-C to stop`);
    const style = styleFor({ isTTY: ctx.stdoutIsTTY });
    for await (const event of stream) {
      const sub = event['sub'];
      // Events of other subscriptions are skipped; connection-wide ones (no sub) are shown.
      if (subs.size > 0 && typeof sub === 'number' && !subs.has(sub)) continue;
      ctx.out(flags.json === true ? JSON.stringify(event) : formatEvent(event, new Date(), style));
    }
    if (stream.dropped > 0) ctx.err(`${stream.dropped} events were dropped because output could not keep up`);
    if (!stopped) {
      ctx.err(`the connection to ${client.remote} closed`);
      ctx.fail(EXIT_FAILED);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await client.close();
  }
}

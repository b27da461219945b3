// `tether send HOST PORT -c action=… …`: the piconetcontrol run_client.py workflow, pipelined.
import { Argument, type Command } from 'commander';
import { connect, TetherError, type JsonObject } from '../client/index.js';
import { parsePort } from './arguments.js';
import { CommandSyntaxError, collectCommandWord, parseCommandGroups } from './command-words.js';
import { addConnectionOptions, toConnectOptions, type ConnectionFlags } from './connection-options.js';
import { EXIT_FAILED, EXIT_USAGE, type CliContext } from './context.js';
import { formatFailure, formatReply, styleFor } from './format.js';

interface SendFlags extends ConnectionFlags {
  command?: string[][];
  json?: boolean;
}

const EXAMPLES = `
Each -c starts one request; the key=value words after it are its fields. Values are
typed: 2 and 0.5 become numbers, true/false booleans, anything else a string;
key:=<json> takes raw JSON (e.g. name:='"007"'). HOST and PORT go before the first -c.
All requests are written at once (pipelined); replies print in order as they arrive.

Examples:
  $ tether send 192.168.1.50 12345 -c action=ping
  $ tether send 127.0.0.1 12345 -c action=setup_pin pin=2 mode=output value=0 \\
      -c action=write_pin pin=2 value=1 timeout=5 -c action=read_pin pin=2
  setup_pin pin=2 mode=output value=0 → ok
  write_pin pin=2 value=1 timeout=5 → ok lease: 1 for 5 s
  read_pin pin=2 → ok value=1
  $ tether send board.local 12345 --tls --ca board.pem -c action=read_sensor name=air
  $ tether send board.local 12345 --token-file board.token -c action=get_state
  $ TETHER_TOKEN=… tether send board.local 12345 --json -c action=get_state

Exit status: 0 when every reply is ok, 1 when any reply is an error or the
connection fails, 2 when the command line is wrong.`;

export function registerSend(program: Command, ctx: CliContext): void {
  const send = program
    .command('send')
    .description('send requests to a board and print the replies')
    .addArgument(new Argument('<host>', "the board's address"))
    .addArgument(new Argument('<port>', "the board's TCP port (12345 by default on a board)").argParser(parsePort))
    .option('-c, --command <kv...>', 'one request as key=value words; repeat -c for more', collectCommandWord)
    .option('--json', 'print each reply as one line of JSON');
  addConnectionOptions(send).addHelpText('after', EXAMPLES);
  send.action(async (host: string, port: number, flags: SendFlags, command: Command) => {
    let batch: JsonObject[];
    try {
      batch = parseCommandGroups(flags.command ?? []);
    } catch (err) {
      if (err instanceof CommandSyntaxError) command.error(`error: ${err.message}`, { exitCode: EXIT_USAGE, code: 'tether.usage' });
      throw err;
    }
    const client = await connect(await toConnectOptions(host, port, flags, (m) => ctx.err(`warning: ${m}`)));
    const style = styleFor({ isTTY: ctx.stdoutIsTTY });
    try {
      // Settled up front so that a reply failing before its turn is never an unhandled rejection.
      const outcomes = client.pipeline(batch).map((p) =>
        p.then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        ),
      );
      for (const [i, pending] of outcomes.entries()) {
        const outcome = await pending;
        const request = batch[i] ?? {};
        if ('reply' in outcome) {
          ctx.out(flags.json === true ? JSON.stringify(outcome.reply) : formatReply(request, outcome.reply, style));
          if (outcome.reply['ok'] !== true) ctx.fail(EXIT_FAILED);
          continue;
        }
        ctx.fail(EXIT_FAILED);
        const code = outcome.error instanceof TetherError ? outcome.error.code : 'error';
        const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
        if (flags.json === true) ctx.err(`${formatFailure(request, code, message)}`);
        else ctx.out(formatFailure(request, code, message, style));
      }
    } finally {
      await client.close();
    }
  });
}

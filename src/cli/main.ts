// The `tether` command line. bin/tether.js calls main() and exits with the code it returns:
// 0 ok, 1 when a reply had ok:false or a connection failed, 2 for usage errors.
import { Command, CommanderError } from 'commander';
import { TetherError } from '../client/index.js';
import { TETHER_VERSION } from '../protocol/index.js';
import { markCommandGroups } from './command-words.js';
import { VALUE_OPTIONS } from './connection-options.js';
import { CliFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE, processContext, type CliContext } from './context.js';
import { registerDemo } from './demo-command.js';
import { registerDevice } from './device-command.js';
import { registerDoctor } from './doctor-command.js';
import { registerHub } from './hub-command.js';
import { registerInstall } from './install-command.js';
import { registerSend } from './send-command.js';
import { registerService } from './service-command.js';
import { registerUpdate } from './update-command.js';
import { registerWatch } from './watch-command.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('tether')
    .description('Control and monitor small boards (Pico W, ESP32, Raspberry Pi) over the local network.')
    .version(TETHER_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    // `tether hub add-device ID --data D`: an option after a subcommand is the subcommand's own.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText(
      'after',
      `
Examples:
  $ tether demo                                           a hub with simulated boards and a rule
  $ tether hub                                            run the hub; boards dial in
  $ tether device --sim                                   run the simulated demo board
  $ tether send 127.0.0.1 12345 -c action=read_pin pin=25  one request, one reply
  $ tether watch 127.0.0.1 12345 --pin 22                  print edges on pin 22
  $ tether install --wifi-ssid lab --wifi-password-file wifi.txt --hub http://127.0.0.1:7340
                                                          a Pico W on USB: firmware, config, linked
  $ sudo tether service install device --config board.yaml  run a board at boot (systemd)`,
    );
  registerSend(program, ctx);
  registerWatch(program, ctx);
  registerDevice(program, ctx);
  registerDoctor(program, ctx);
  registerHub(program, ctx);
  registerDemo(program, ctx);
  registerUpdate(program, ctx);
  registerInstall(program, ctx);
  registerService(program, ctx);
  return program;
}

/** Runs the CLI with process.argv-style arguments; resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const ctx = processContext();
  // `tether watch … | head` : once the reader has gone, stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ctx.code);
    throw err;
  });
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(markCommandGroups(argv.slice(2), VALUE_OPTIONS), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander raises is a usage error.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    // ConfigError and HubConfigError come from lazily loaded layers, so they are recognised by name.
    if (err instanceof TetherError || err instanceof CliFailure || (err instanceof Error && (err.name === 'ConfigError' || err.name === 'HubConfigError'))) {
      ctx.err(err.message);
      return EXIT_FAILED;
    }
    ctx.err(`unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT_FAILED;
  }
  return ctx.code;
}

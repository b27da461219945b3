// `tether doctor`: what this Linux machine offers a board, and whether a board config can
// start here. A thin shell over src/device/backends/linux/doctor.ts.
import type { Command } from 'commander';
import { CliFailure, EXIT_FAILED, type CliContext } from './context.js';
import type { DoctorOptions, DoctorReport } from '../device/backends/linux/doctor.js';

interface DoctorFlags {
  config?: string;
  json?: boolean;
  scan: boolean;
}

const EXAMPLES = `
Lists the GPIO chips and the lines in use, the I2C buses and the addresses that
answer (probed as i2cdetect does), the PWM chips, 1-Wire probes, DHT devices, the
CPU temperature and WiFi signal, and whether this user may open each device. With
--config, checks everything the board config needs and gives, for each problem,
the line to run or add. Exits 1 when that config cannot start here.

The kernel's files are read under /sys, /dev and /proc; TETHER_SYSFS_ROOT,
TETHER_DEV_ROOT and TETHER_PROC_ROOT move them (to reproduce a problem from a copy).

Examples:
  $ tether doctor                                  what this machine offers
  $ tether doctor --config bench.yaml              can this board config start here?
  $ tether doctor --config bench.yaml --json       the same, for a script
  $ tether doctor --no-scan                        do not probe I2C addresses`;

/** Overridden by tests: the kernel seam and whose permissions to check. */
export type DoctorDeps = Partial<Pick<DoctorOptions, 'kernel' | 'identity'>> & { env?: NodeJS.ProcessEnv };

export function registerDoctor(program: Command, ctx: CliContext, deps: DoctorDeps = {}): void {
  program
    .command('doctor')
    .description('check what this Linux machine offers a board (GPIO, I2C, PWM, 1-Wire, DHT) and whether a board config can start here')
    .option('--config <file>', 'a board config to check against this machine')
    .option('--json', 'print the report as JSON')
    .option('--no-scan', 'do not probe I2C addresses')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DoctorFlags) => {
      const report = await runDoctor(flags, deps);
      // Absent facts are null in JSON, so a script sees every key.
      if (flags.json === true) ctx.out(JSON.stringify(report, (_key, value: unknown) => (value === undefined ? null : value), 2));
      else for (const line of formatReport(report)) ctx.out(line);
      if (report.config !== undefined && !report.config.canStart) ctx.fail(EXIT_FAILED);
    });
}

async function runDoctor(flags: DoctorFlags, deps: DoctorDeps): Promise<DoctorReport> {
  const [{ examine }, { kernelRoots }, { currentIdentity }, { loadBoardConfig }] = await Promise.all([
    import('../device/backends/linux/doctor.js'),
    import('../device/backends/linux/roots.js'),
    import('../device/backends/linux/access.js'),
    import('../device/config.js'),
  ]);
  // An invalid config stops here with every problem listed (ConfigError's message).
  const config = flags.config === undefined ? undefined : { source: flags.config, value: await loadBoardConfig(flags.config) };
  let kernel = deps.kernel;
  if (kernel === undefined) {
    const { loadKoffiKernel } = await import('../device/backends/linux/koffi-kernel.js');
    try {
      kernel = await loadKoffiKernel();
    } catch (err) {
      throw new CliFailure(`cannot reach the kernel's device interfaces here (${err instanceof Error ? err.message : String(err)}); tether doctor runs on Linux`);
    }
  }
  try {
    return await examine({ kernel, roots: kernelRoots(deps.env ?? process.env), identity: deps.identity ?? currentIdentity(), ...(config ? { config } : {}), scanI2c: flags.scan });
  } finally {
    kernel.dispose();
  }
}

const OK = '✓';
const BAD = '✗';

export function formatReport(r: DoctorReport): string[] {
  const out: string[] = [];
  const moved = r.roots.sys !== '/sys' || r.roots.dev !== '/dev' || r.roots.proc !== '/proc';
  out.push(`tether doctor: ${r.model ?? 'a Linux machine (no device-tree model)'}; user ${r.user.name} (groups ${r.user.groups.join(', ') || 'none'})`);
  if (moved) out.push(`  kernel files read under ${r.roots.sys}, ${r.roots.dev}, ${r.roots.proc}`);
  const advice = (text: string | undefined) => (text === undefined ? [] : [`      → ${text}`]);

  out.push('', 'GPIO');
  if (r.gpio.length === 0) out.push(`  ${BAD} no GPIO chip in ${r.roots.dev} (this kernel has no GPIO character device)`);
  for (const c of r.gpio) {
    const about = [c.label, c.lines !== undefined ? `${c.lines} lines` : undefined, c.main ? 'main chip' : undefined].filter(Boolean).join(', ');
    out.push(`  ${c.usable ? OK : BAD} ${c.path}  ${about}  ${c.access ?? ''}`.trimEnd());
    if (c.inUse.length > 0) out.push(`      in use: ${c.inUse.map((l) => `${l.offset}${l.name ? ` ${l.name}` : ''} (${l.consumer || 'kernel'})`).join(', ')}`);
    if (c.error !== undefined) out.push(`      ${c.error}`);
    out.push(...advice(c.advice));
  }

  out.push('', 'I2C');
  if (r.i2c.length === 0) out.push(`  ${BAD} no I2C bus in ${r.roots.dev}: I2C is off (sudo raspi-config nonint do_i2c 0)`);
  for (const b of r.i2c) {
    const answering = b.answering === undefined ? '' : b.answering.length > 0 ? `answering: ${b.answering.join(' ')}` : 'no device answers';
    out.push(`  ${b.usable ? OK : BAD} ${b.path}  ${answering}  ${b.access ?? ''}`.trimEnd());
    if (b.error !== undefined) out.push(`      ${b.error}`);
    out.push(...advice(b.advice));
  }

  out.push('', 'PWM');
  if (r.pwm.length === 0) out.push(`  none: hardware PWM needs its overlay (dtoverlay=pwm-2chan in /boot/firmware/config.txt); software PWM works on any line`);
  for (const p of r.pwm) {
    out.push(`  ${p.usable ? OK : BAD} pwmchip${p.chip}${p.device ? ` (${p.device})` : ''}: ${p.channels ?? '?'} channels${p.exported.length > 0 ? `, exported: ${p.exported.join(', ')}` : ''}`);
    out.push(...advice(p.advice));
  }

  out.push('', '1-Wire');
  if (!r.oneWire.present) out.push('  off (dtoverlay=w1-gpio,gpiopin=N turns it on)');
  else out.push(`  bus on GPIO ${r.oneWire.gpios.join(', ') || '?'}; probes: ${r.oneWire.probes.join(', ') || 'none'}`);
  out.push('', 'DHT (IIO)');
  out.push(r.dht.length === 0 ? '  none (dtoverlay=dht11,gpiopin=N adds one)' : `  ${r.dht.map((d) => `${d.name}${d.gpio !== undefined ? ` on GPIO ${d.gpio}` : ''}`).join(', ')}`);
  out.push('', `CPU temperature: ${r.cpuTemperature !== undefined ? `${r.cpuTemperature.toFixed(1)} °C` : 'not reported'}`);
  out.push(`WiFi: ${r.wifi.length === 0 ? 'none' : r.wifi.map((w) => `${w.iface} ${w.dbm !== undefined ? `${w.dbm} dBm` : 'no link'}`).join(', ')}`);

  if (r.config !== undefined) {
    out.push('', `Config ${r.config.source}`);
    for (const f of r.config.findings) {
      out.push(`  ${f.ok ? OK : BAD} ${f.what}: ${f.found}`);
      out.push(...advice(f.advice));
    }
    const problems = r.config.findings.filter((f) => !f.ok).length;
    out.push('', problems === 0 ? 'The config can start here.' : `The config cannot start here: ${problems} problem${problems === 1 ? '' : 's'} above.`);
  }
  return out;
}

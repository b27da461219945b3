// Checks what a board config needs (needs.ts) against this machine, one finding per need:
// what was looked for, what was found and, when it is missing, the line to run or add. The
// backend runs it before it opens anything, so one message lists every problem at once;
// `tether doctor` runs it with `probe` to also ask the chips themselves.
import type { BoardConfig } from '../../config.js';
import { PinCapabilityError } from '../../hal/types.js';
import { hex } from '../../hex.js';
import { nodeAccess, type Identity, type NodeAccess } from './access.js';
import { enableDht, enableI2c, enableOneWire, grantAccess, type NodeKind } from './advice.js';
import { detectBoardModel } from './board-model.js';
import { mapPins, readLines, type GpioLineInfo, type PinMap } from './gpio-chips.js';
import { LinuxI2cBus } from './i2c.js';
import { listDhtDevices } from './iio-dht.js';
import type { Kernel } from './kernel.js';
import { describeNeed, needsOf, type Need } from './needs.js';
import { LinuxOneWire } from './onewire.js';
import { PwmRouter } from './pwm-route.js';
import { under, type KernelRoots } from './roots.js';
import { naturalOrder, nodeSysfsIo, type SysfsIo } from './sysfs-io.js';
import { findCpuThermalZone } from './thermal.js';
import { loadZeromq } from '../../transport/zeromq-module.js';

export interface Finding {
  readonly need: Need;
  /** e.g. "pin 23 as an output — actuators[1] (heater)". */
  readonly what: string;
  readonly ok: boolean;
  /** What was found, or what is wrong. */
  readonly found: string;
  /** The line to run or add, when not ok. */
  readonly advice: string | undefined;
}

export interface SurveyOptions {
  kernel: Kernel;
  roots: KernelRoots;
  identity: Identity;
  /** Also ask the chips: probe each I2C address, scan 1-Wire, read the CPU temperature. */
  probe: boolean;
  /** How sysfs is read (the PWM chips, the board model); tests pass a fake kernel's. */
  io?: SysfsIo;
}

export interface Survey {
  readonly findings: Finding[];
  /** Board pins to GPIO lines, when the config has any line to check; the backend opens these. */
  readonly pinMap: PinMap | undefined;
}

export async function survey(config: Readonly<BoardConfig>, o: SurveyOptions): Promise<Survey> {
  const findings: Finding[] = [];
  const add = (need: Need, ok: boolean, found: string, advice?: string) =>
    findings.push({ need, what: `${describeNeed(need)} — ${need.who}`, ok, found, advice: ok ? undefined : advice });

  let pinMap: PinMap | undefined;
  let pinMapError: { found: string; advice: string | undefined } | undefined;
  const lines = new Map<string, GpioLineInfo[]>();
  const needs = needsOf(config);
  if (needs.some((n) => n.kind === 'line')) {
    try {
      pinMap = mapPins(o.kernel, o.roots.dev, { gpioChip: config.backend.gpio_chip, lines: config.backend.lines, pinCount: config.gpio.pin_count });
    } catch (err) {
      // A chip this user may not open: say who may, and how to be let in, rather than the bare EACCES.
      const locked = lockedChip(o, config.backend.gpio_chip);
      pinMapError = locked !== undefined ? cannotOpen('gpio', locked, o.identity) : { found: err instanceof Error ? err.message : String(err), advice: undefined };
    }
  }
  const kind = detectBoardModel(o.roots, o.io).kind;
  const pwm = new PwmRouter({ roots: o.roots, backend: config.backend, kind, io: o.io ?? nodeSysfsIo });
  const buses = new Map<number, LinuxI2cBus>();
  const scans = new Map<number, Promise<number[] | string>>();

  try {
    for (const need of needs) {
      switch (need.kind) {
        case 'line': {
          if (pinMap === undefined) {
            add(need, false, pinMapError?.found ?? 'no GPIO chip', pinMapError?.advice);
            break;
          }
          const line = pinMap.pins.get(need.pin);
          if (line === undefined) {
            add(need, false, `${pinMap.main.name} (${pinMap.main.label}) has no line ${need.pin}`, 'use a pin number that is a line offset on the main chip, or name the line in backend.lines');
            break;
          }
          const access = nodeAccess(line.chip.path, o.identity);
          if (!access.readable || !access.writable) {
            const denied = cannotOpen('gpio', access, o.identity);
            add(need, false, denied.found, denied.advice);
            break;
          }
          let info = lines.get(line.chip.path);
          if (info === undefined) {
            info = readLines(o.kernel, line.chip);
            lines.set(line.chip.path, info);
          }
          const li = info[line.offset];
          const where = `${line.chip.name} line ${line.offset}${line.name ? ` "${line.name}"` : ''}`;
          if (li?.used) {
            add(need, false, `${where} is in use by ${li.consumer || 'the kernel'}`, 'stop the program that holds it, or turn off the interface that claims the pin (raspi-config, or its dtoverlay line)');
          } else add(need, true, `${where}, free`);
          break;
        }
        case 'pwm': {
          try {
            const route = pwm.route(need.pin);
            if (route.kind === 'software') {
              add(need, true, 'software PWM');
              break;
            }
            const exportFile = under(o.roots.sys, 'class/pwm', `pwmchip${route.chip}`, 'export');
            const access = nodeAccess(exportFile, o.identity);
            if (!access.exists) add(need, false, `${exportFile} does not exist`, `check backend.pwm: pwmchip${route.chip} is not on this machine`);
            else if (!access.writable) add(need, false, `${exportFile} (${access.shown ?? ''}) cannot be written by ${o.identity.name}`, grantAccess('pwm', exportFile, access.group));
            else add(need, true, `pwmchip${route.chip} channel ${route.channel}${route.from === 'config' ? ' (backend.pwm)' : ''}`);
          } catch (err) {
            if (!(err instanceof PinCapabilityError)) throw err;
            add(need, false, err.message, undefined);
          }
          break;
        }
        case 'i2c-bus': {
          const path = under(o.roots.dev, `i2c-${need.bus}`);
          const access = nodeAccess(path, o.identity);
          if (!access.exists) add(need, false, `${path} does not exist`, enableI2c(need.bus));
          else if (!access.readable || !access.writable) {
            const denied = cannotOpen('i2c', access, o.identity);
            add(need, false, denied.found, denied.advice);
          }
          else add(need, true, `${path} (${access.shown ?? ''})`);
          break;
        }
        case 'i2c-device': {
          // A bus that is missing or closed to this user is one problem, not one per chip on it.
          if (!o.probe || findings.some((f) => f.need.kind === 'i2c-bus' && f.need.bus === need.bus && !f.ok)) break;
          let scan = scans.get(need.bus);
          if (scan === undefined) {
            scan = scanBus(buses, o, need.bus);
            scans.set(need.bus, scan);
          }
          const answering = await scan;
          if (typeof answering === 'string') add(need, false, answering, undefined);
          else if (answering.includes(need.address)) add(need, true, 'answers');
          else add(need, false, `no device answers at ${hex(need.address)}${answering.length > 0 ? ` (answering: ${answering.map(hex).join(' ')})` : ''}`, 'check the wiring, the 3.3 V supply, the pull-ups and the address pins');
          break;
        }
        case 'onewire': {
          const dir = under(o.roots.sys, 'bus/w1/devices');
          if (!nodeAccess(dir, o.identity).exists) {
            add(need, false, `${dir} does not exist`, enableOneWire(need.pin));
            break;
          }
          if (!o.probe || need.pin === undefined) {
            add(need, true, `${dir}`);
            break;
          }
          try {
            const roms = await new LinuxOneWire({ roots: o.roots }).scan(need.pin);
            const wanted = need.rom === undefined ? roms.length > 0 : roms.includes(need.rom.toLowerCase());
            add(need, wanted, roms.length > 0 ? `probes: ${roms.join(', ')}` : 'no probe answers', 'check the wiring, the 3.3 V supply and the 4.7 kΩ pull-up on the data line');
          } catch (err) {
            add(need, false, err instanceof Error ? err.message : String(err), undefined);
          }
          break;
        }
        case 'dht': {
          const devices = await listDhtDevices(o.roots);
          const device = devices.find((d) => d.pin === need.pin);
          if (device === undefined) add(need, false, devices.length > 0 ? `found ${devices.map((d) => d.name).join(', ')}` : 'no dht11 IIO device', enableDht(need.pin));
          else add(need, true, `${device.dir} (${device.name})`);
          break;
        }
        case 'cpu-temperature': {
          const zone = await findCpuThermalZone(o.roots);
          if (zone === undefined) add(need, false, `no thermal zone under ${under(o.roots.sys, 'class/thermal')}`, 'this kernel reports no processor temperature: remove the chip_temp sensor');
          else add(need, true, zone);
          break;
        }
        case 'zeromq': {
          try {
            add(need, true, `libzmq ${(await loadZeromq()).version}`);
          } catch (err) {
            add(need, false, 'the zeromq package does not load here', err instanceof Error ? err.message : String(err));
          }
          break;
        }
      }
    }
  } finally {
    for (const bus of buses.values()) bus.close();
  }
  return { findings, pinMap };
}

/** A device node this user may not open, with the way in. */
function cannotOpen(kind: NodeKind, access: NodeAccess, identity: Identity): { found: string; advice: string } {
  return { found: `${access.path} (${access.shown ?? 'missing'}) cannot be opened by ${identity.name}`, advice: grantAccess(kind, access.path, access.group) };
}

/** The GPIO chip node (backend.gpio_chip's, or any when it is found by label) that exists but this user may not open. */
function lockedChip(o: SurveyOptions, spec: string): NodeAccess | undefined {
  let paths: string[];
  if (/^gpiochip\d+$/.test(spec)) paths = [under(o.roots.dev, spec)];
  else if (spec.startsWith('/')) paths = [spec];
  else {
    try {
      paths = o.kernel
        .list(o.roots.dev)
        .filter((n) => /^gpiochip\d+$/.test(n))
        .sort(naturalOrder)
        .map((n) => under(o.roots.dev, n));
    } catch {
      paths = [];
    }
  }
  return paths.map((p) => nodeAccess(p, o.identity)).find((a) => a.exists && (!a.readable || !a.writable));
}

/** A scan of one bus (run once, shared by every device on it); a string says why it could not be scanned. */
async function scanBus(buses: Map<number, LinuxI2cBus>, o: SurveyOptions, bus: number): Promise<number[] | string> {
  let b = buses.get(bus);
  try {
    if (b === undefined) {
      b = new LinuxI2cBus({ kernel: o.kernel, bus, devRoot: o.roots.dev });
      buses.set(bus, b);
    }
    return await b.scan();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The start-up message: the config, then each problem with what was looked for and what to do. */
export function describeProblems(source: string, problems: readonly Finding[]): string {
  // One item per distinct problem: four pins on a GPIO chip the user may not open have one fix.
  const items = new Map<string, { whats: string[]; finding: Finding }>();
  for (const f of problems) {
    const key = `${f.found}\n${f.advice ?? ''}`;
    const item = items.get(key);
    if (item !== undefined) item.whats.push(f.what);
    else items.set(key, { whats: [f.what], finding: f });
  }
  const lines = [...items.values()].map(({ whats, finding: f }) => `  - ${whats.join('; ')}: ${f.found}${f.advice ? `\n    → ${f.advice}` : ''}`);
  return `${source}: this machine does not offer what the board config needs:\n${lines.join('\n')}\n(tether doctor --config ${source} shows all it looked at)`;
}

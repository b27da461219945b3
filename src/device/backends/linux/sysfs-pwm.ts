// Hardware PWM through the kernel's sysfs interface (Documentation/ABI/testing/sysfs-class-pwm):
// /sys/class/pwm/pwmchipN/{npwm,export,unexport} and, once a channel is exported,
// pwmchipN/pwmM/{period,duty_cycle,polarity,enable}, times in nanoseconds.
import { joinGroup } from './advice.js';
import { under, type KernelRoots } from './roots.js';
import { errnoCode, nodeSysfsIo, sleepSync, type SysfsIo } from './sysfs-io.js';

export interface PwmChannel {
  readonly chip: number;
  readonly channel: number;
}

/** What the channel's files say now. */
export interface PwmChannelState {
  periodNs: number;
  dutyNs: number;
  enabled: boolean;
  polarity: string | undefined;
}

export interface SysfsPwmOptions {
  roots: KernelRoots;
  io?: SysfsIo;
  /** Waits between looks for the exported channel; a test can create the folder here, as the kernel would. */
  sleepSync?: (ms: number) => void;
  /** How long the kernel and udev get to create pwmM/ and open it to our group after an export. */
  exportTimeoutMs?: number;
}

/** On Raspberry Pi OS, /etc/udev/rules.d/99-com.rules gives the gpio group /sys/class/pwm. */
const PERMISSION_HINT = `on Raspberry Pi OS the udev rule in /etc/udev/rules.d/99-com.rules gives the gpio group write access to /sys/class/pwm: ${joinGroup('gpio')}; elsewhere add a udev rule that does the same`;

const POLL_MS = 10;

interface Taken {
  periodNs: number;
  dutyNs: number;
  enabled: boolean;
}

export class SysfsPwm {
  private readonly roots: KernelRoots;
  private readonly io: SysfsIo;
  private readonly sleep: (ms: number) => void;
  private readonly exportTimeoutMs: number;
  /** Channels this process has configured, by "chip/channel". */
  private readonly taken = new Map<string, Taken>();

  constructor(options: SysfsPwmOptions) {
    this.roots = options.roots;
    this.io = options.io ?? nodeSysfsIo;
    this.sleep = options.sleepSync ?? sleepSync;
    this.exportTimeoutMs = options.exportTimeoutMs ?? 2000;
  }

  chipPath(chip: number): string {
    return under(this.roots.sys, 'class/pwm', `pwmchip${chip}`);
  }

  channelPath(ch: PwmChannel): string {
    return under(this.chipPath(ch.chip), `pwm${ch.channel}`);
  }

  /** Runs the channel at `freq` Hz and `duty` (0..1), normal polarity. Duty 0 stays enabled: the pin is held low. */
  set(ch: PwmChannel, freq: number, duty: number): void {
    const periodNs = Math.round(1e9 / freq);
    if (!Number.isSafeInteger(periodNs) || periodNs < 1) {
      throw new RangeError(`a PWM frequency of ${freq} Hz gives a period of ${periodNs} ns, which the kernel cannot take`);
    }
    const dutyNs = Math.min(periodNs, Math.round(duty * periodNs));
    const state = this.take(ch);
    const dir = this.channelPath(ch);
    // The kernel refuses duty_cycle > period at every step, so the order depends on which way
    // the period moves: a duty that fits the current period goes first, else the period does.
    if (dutyNs > state.periodNs) {
      this.writePeriod(dir, state, periodNs, freq);
      this.writeDuty(dir, state, dutyNs);
    } else {
      this.writeDuty(dir, state, dutyNs);
      this.writePeriod(dir, state, periodNs, freq);
    }
    if (!state.enabled) {
      this.write(under(dir, 'enable'), '1');
      state.enabled = true;
    }
  }

  /**
   * Duty 0, then disabled. A disabled BCM2835/BCM2711 channel (Pi 0–4) outputs its silence bit,
   * which the kernel driver leaves at 0, i.e. low (BCM2835 ARM Peripherals §9, CTL register, SBIx); what a
   * disabled RP1 channel (Pi 5) outputs is not documented in its driver. Writing duty 0 first
   * means the pin is already low when the channel stops, whatever the block does then.
   */
  stop(ch: PwmChannel): void {
    const dir = this.channelPath(ch);
    const state = this.taken.get(key(ch));
    if (state === undefined) {
      // Not ours yet (left by an earlier run): the same two steps, without taking it over.
      if (!this.io.exists(dir)) return;
      this.write(under(dir, 'duty_cycle'), '0');
      this.write(under(dir, 'enable'), '0');
      return;
    }
    this.writeDuty(dir, state, 0);
    if (state.enabled) {
      this.write(under(dir, 'enable'), '0');
      state.enabled = false;
    }
  }

  /** The channel's files as they read now; undefined when it is not exported. */
  read(ch: PwmChannel): PwmChannelState | undefined {
    const dir = this.channelPath(ch);
    if (!this.io.exists(dir)) return undefined;
    const polarityPath = under(dir, 'polarity');
    return {
      periodNs: this.readInt(under(dir, 'period')),
      dutyNs: this.readInt(under(dir, 'duty_cycle')),
      enabled: this.readInt(under(dir, 'enable')) === 1,
      polarity: this.io.exists(polarityPath) ? this.io.read(polarityPath).trim() : undefined,
    };
  }

  /** Exports the channel if needed and puts it in a known state the first time this process uses it. */
  private take(ch: PwmChannel): Taken {
    const known = this.taken.get(key(ch));
    if (known !== undefined) return known;
    const chipDir = this.chipPath(ch.chip);
    if (!this.io.exists(chipDir)) {
      const chips = this.io.list(under(this.roots.sys, 'class/pwm')).filter((n) => n.startsWith('pwmchip'));
      throw new Error(`no PWM chip ${chipDir} (${chips.length > 0 ? `found ${chips.join(', ')}` : 'no PWM chips at all'}); enable it with a dtoverlay line in /boot/firmware/config.txt and reboot, or fix backend.pwm in the board config`);
    }
    const npwm = this.readInt(under(chipDir, 'npwm'));
    if (ch.channel >= npwm) throw new Error(`pwmchip${ch.chip} has ${npwm} channel${npwm === 1 ? '' : 's'} (0–${npwm - 1}), not channel ${ch.channel}; fix backend.pwm in the board config`);
    const dir = this.channelPath(ch);
    if (!this.io.exists(dir)) this.exportChannel(ch);
    this.awaitWritable(ch);
    // A channel left enabled by an earlier run is disabled first: the kernel skips a request for
    // the state it believes the channel has, and on kernels whose bcm2835 driver cleared the
    // enable bit on unexport that belief can be wrong. Polarity can change only while disabled.
    if (this.readInt(under(dir, 'enable')) === 1) this.write(under(dir, 'enable'), '0');
    const polarity = under(dir, 'polarity');
    if (this.io.exists(polarity) && this.io.read(polarity).trim() !== 'normal') this.write(polarity, 'normal');
    const state: Taken = { periodNs: this.readInt(under(dir, 'period')), dutyNs: this.readInt(under(dir, 'duty_cycle')), enabled: false };
    this.taken.set(key(ch), state);
    return state;
  }

  private exportChannel(ch: PwmChannel): void {
    try {
      this.io.write(under(this.chipPath(ch.chip), 'export'), String(ch.channel));
    } catch (err) {
      // EBUSY: a kernel driver holds the channel (the Pi 5's fan takes RP1 PWM1 channel 3).
      if (errnoCode(err) === 'EBUSY') throw new Error(`pwmchip${ch.chip} channel ${ch.channel} is in use by a kernel driver (EBUSY on export); choose another channel or remove the overlay that claims it`, { cause: err });
      throw this.writeError(under(this.chipPath(ch.chip), 'export'), err);
    }
  }

  /** The kernel creates pwmM/ at once, but udev opens it to the gpio group a moment later. */
  private awaitWritable(ch: PwmChannel): void {
    const period = under(this.channelPath(ch), 'period');
    for (let waited = 0; ; waited += POLL_MS) {
      if (this.io.exists(period) && this.io.writable(period)) return;
      if (waited >= this.exportTimeoutMs) break;
      this.sleep(POLL_MS);
    }
    if (!this.io.exists(period)) throw new Error(`exported channel ${ch.channel} of pwmchip${ch.chip}, but ${this.channelPath(ch)} did not appear within ${this.exportTimeoutMs} ms`);
    throw new Error(`cannot write ${period}: permission denied ${this.exportTimeoutMs} ms after the export; ${PERMISSION_HINT}`);
  }

  private writePeriod(dir: string, state: Taken, periodNs: number, freq: number): void {
    if (state.periodNs === periodNs) return;
    try {
      this.io.write(under(dir, 'period'), String(periodNs));
    } catch (err) {
      if (errnoCode(err) === 'EINVAL') throw new RangeError(`the kernel refused a period of ${periodNs} ns (${freq} Hz) for ${dir}: this PWM cannot run at that frequency`, { cause: err });
      throw this.writeError(under(dir, 'period'), err);
    }
    state.periodNs = periodNs;
  }

  private writeDuty(dir: string, state: Taken, dutyNs: number): void {
    if (state.dutyNs === dutyNs) return;
    this.write(under(dir, 'duty_cycle'), String(dutyNs));
    state.dutyNs = dutyNs;
  }

  private write(path: string, text: string): void {
    try {
      this.io.write(path, text);
    } catch (err) {
      throw this.writeError(path, err);
    }
  }

  private writeError(path: string, err: unknown): Error {
    const code = errnoCode(err);
    if (code === 'EACCES' || code === 'EPERM') return new Error(`cannot write ${path}: permission denied (${code}); ${PERMISSION_HINT}`, { cause: err });
    return new Error(`cannot write ${path}: ${code ?? String(err)}`, { cause: err });
  }

  private readInt(path: string): number {
    let text: string;
    try {
      text = this.io.read(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
    const n = Number.parseInt(text.trim(), 10);
    if (!Number.isSafeInteger(n)) throw new Error(`${path} reads ${JSON.stringify(text.trim())}, not a number`);
    return n;
  }
}

function key(ch: PwmChannel): string {
  return `${ch.chip}/${ch.channel}`;
}

/** A PWM chip as `tether doctor` lists it. */
export interface PwmChipInfo {
  readonly chip: number;
  readonly path: string;
  readonly npwm: number | undefined;
  /** Channels exported now (pwmM/ folders), by anyone. */
  readonly exported: number[];
  /** The platform device behind it, e.g. "fe20c000.pwm" (the `device` link's target). */
  readonly device: string | undefined;
  /** OF_FULLNAME from the device's uevent, e.g. "/soc/pwm@7e20c000". */
  readonly ofName: string | undefined;
  /** OF_COMPATIBLE_* from the device's uevent, e.g. ["brcm,bcm2835-pwm"]. */
  readonly compatible: string[];
}

export function listPwmChips(roots: KernelRoots, io: SysfsIo = nodeSysfsIo): PwmChipInfo[] {
  const base = under(roots.sys, 'class/pwm');
  const chips: PwmChipInfo[] = [];
  for (const name of io.list(base)) {
    const m = /^pwmchip(\d+)$/.exec(name);
    if (m === null) continue;
    const path = under(base, name);
    const npwm = Number.parseInt(tryRead(io, under(path, 'npwm')) ?? '', 10);
    const uevent = parseUevent(tryRead(io, under(path, 'device/uevent')) ?? '');
    const target = io.realpath(under(path, 'device'));
    chips.push({
      chip: Number(m[1]),
      path,
      npwm: Number.isSafeInteger(npwm) ? npwm : undefined,
      exported: io.list(path).flatMap((n) => /^pwm(\d+)$/.exec(n)?.slice(1).map(Number) ?? []),
      device: target?.split('/').pop(),
      ofName: uevent.get('OF_FULLNAME'),
      compatible: [...uevent.entries()].filter(([k]) => /^OF_COMPATIBLE_\d+$/.test(k)).map(([, v]) => v),
    });
  }
  return chips.sort((a, b) => a.chip - b.chip);
}

/** KEY=value lines, as a device's uevent file holds them. */
export function parseUevent(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return out;
}

function tryRead(io: SysfsIo, path: string): string | undefined {
  try {
    return io.read(path);
  } catch {
    return undefined;
  }
}

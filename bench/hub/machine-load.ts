// How busy the rest of the machine was while the bench ran: once a second, the CPU time of
// every process that is not the bench or one of its children (from /proc), and the VM's steal
// time. A figure measured while something else ran is not the hub's figure; this says so.
import fs from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ: the kernel counts process CPU time in 1/100 s

interface Sample {
  at: number;
  /** Busy CPU time of the whole machine, ms. */
  busy: number;
  steal: number;
  /** CPU time of each process of the bench's tree, ms. */
  ours: Map<number, number>;
}

function machine(): { busy: number; steal: number } {
  const first = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = first.trim().split(/\s+/).map(Number);
  return { busy: (user + nice + system + irq + softirq) * TICK_MS, steal: steal * TICK_MS };
}

/** pid → [ppid, CPU ms] for every process. */
function processes(): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const cpu = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    out.set(Number(name), [ppid, cpu]);
  }
  return out;
}

export class MachineLoad {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  readonly available = fs.existsSync('/proc/stat');

  start(): void {
    if (!this.available) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** An index to pass to between(). */
  mark(): number {
    if (this.available) this.sample();
    return this.samples.length - 1;
  }

  /**
   * Other processes' CPU between two marks, as a share of one core (seconds in which a process
   * of the bench ended are left out: its last moments would count as someone else's), and steal.
   */
  between(from: number, to: number): { other: number; steal: number } | undefined {
    let ms = 0;
    let other = 0;
    let steal = 0;
    for (let i = Math.max(0, from); i < to && i + 1 < this.samples.length; i++) {
      const a = this.samples[i] as Sample;
      const b = this.samples[i + 1] as Sample;
      let oursDelta = 0;
      let complete = true;
      for (const [pid, cpu] of a.ours) {
        const later = b.ours.get(pid);
        if (later === undefined) complete = false;
        else oursDelta += later - cpu;
      }
      for (const [pid, cpu] of b.ours) if (!a.ours.has(pid)) oursDelta += cpu; // started meanwhile
      if (!complete) continue;
      ms += b.at - a.at;
      other += Math.max(0, b.busy - a.busy - oursDelta);
      steal += b.steal - a.steal;
    }
    return ms === 0 ? undefined : { other: other / ms, steal: steal / ms };
  }

  private sample(): void {
    const procs = processes();
    const ours = new Map<number, number>();
    const inTree = (pid: number): boolean => {
      for (let at = pid, hops = 0; at > 1 && hops < 64; hops++) {
        if (at === process.pid) return true;
        at = procs.get(at)?.[0] ?? 0;
      }
      return false;
    };
    for (const [pid, [, cpu]] of procs) if (inTree(pid)) ours.set(pid, cpu);
    const m = machine();
    this.samples.push({ at: performance.now(), busy: m.busy, steal: m.steal, ours });
  }
}

// Hot spots of a V8 CPU profile (.cpuprofile, as --cpu-prof or the inspector writes it): self
// time by function and by file, and inclusive time by function (each function counted once per
// stack, so recursion does not inflate it).
//
//   node dist/bench/hub/profile.js FILE.cpuprofile [TOP]     prints the summary of a saved profile
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ROOT, table } from './common.js';

export interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Sampled wall time, ms. */
  totalMs: number;
  idleMs: number;
  gcMs: number;
  self: Array<{ name: string; ms: number }>;
  inclusive: Array<{ name: string; ms: number }>;
  files: Array<{ name: string; ms: number }>;
}

const rootUrl = pathToFileURL(ROOT).href + '/';

function where(url: string): string {
  if (url === '') return '';
  const pkg = /^file:\/\/.*?\/node_modules\/(.*)$/.exec(url);
  if (pkg !== null) return `npm:${pkg[1] ?? ''}`;
  if (url.startsWith(rootUrl)) return url.slice(rootUrl.length);
  return url;
}

export function summarizeProfile(profile: Profile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node from the samples and their time deltas (µs).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    // A sample's duration is the gap to the next one.
    const us = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }
  const nameOf = (n: Profile['nodes'][number]) => {
    const file = where(n.callFrame.url);
    return `${n.callFrame.functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${n.callFrame.lineNumber + 1}`}`;
  };
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gcUs = 0;
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    total += us;
    const fn = n.callFrame.functionName;
    if (fn === '(idle)') idle += us;
    if (fn === '(garbage collector)') gcUs += us;
    const name = nameOf(n);
    self.set(name, (self.get(name) ?? 0) + us);
    const file = where(n.callFrame.url) || fn;
    files.set(file, (files.get(file) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const node = byId.get(at);
      if (node === undefined) break;
      const key = nameOf(node);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const topOf = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000 }));
  return { totalMs: total / 1000, idleMs: idle / 1000, gcMs: gcUs / 1000, self: topOf(self), inclusive: topOf(inclusive), files: topOf(files) };
}

export function printProfile(s: ProfileSummary, indent = '  '): void {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)} %`;
  console.log(`${indent}sampled ${s.totalMs.toFixed(0)} ms, of which idle ${s.idleMs.toFixed(0)} ms; GC ${pct(s.gcMs)} of the busy time`);
  const show = (title: string, rows: ProfileSummary['self']) => {
    console.log(`\n${indent}${title} (share of busy time)`);
    console.log(table(rows.filter((r) => !r.name.startsWith('(idle)')).map((r) => [pct(r.ms).padStart(7), r.name]), indent + '  '));
  };
  show('self time by file', s.files);
  show('self time by function', s.self);
  show('inclusive time by function', s.inclusive);
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/bench/hub/profile.js FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  printProfile(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 30)));
}

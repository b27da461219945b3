// Compiles a small C program against this machine's headers, to compare what the TypeScript
// encodes with what the C compiler says. Without gcc or the kernel headers the calling test
// fails under CI (which must have them) and otherwise passes with a note saying what to install.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export const C_TOOLS_INSTALL = 'apt-get install -y gcc linux-libc-dev';

export interface CProgram {
  exe: string;
  dispose(): void;
}

/** The compiled program, or undefined (after a diagnostic) when this machine cannot build it outside CI. */
export function compileC(t: TestContext, source: string): CProgram | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'tether-c-probe-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  const src = join(dir, 'probe.c');
  const exe = join(dir, 'probe');
  writeFileSync(src, source);
  const r = spawnSync('gcc', ['-std=gnu11', '-Wall', '-Werror', '-o', exe, src], { encoding: 'utf8' });
  const missingGcc = (r.error as { code?: string } | undefined)?.code === 'ENOENT';
  const missingHeader = /fatal error: .*\.h: No such file or directory/.test(r.stderr ?? '');
  if (missingGcc || missingHeader) {
    dispose();
    const what = missingGcc ? 'gcc is not installed' : 'the Linux kernel headers are not installed';
    assert.ok(process.env['CI'] !== 'true', `${what}; CI must have them: ${C_TOOLS_INSTALL}`);
    t.diagnostic(`${what}, so the C side of this check did not run; install them with: ${C_TOOLS_INSTALL}`);
    return undefined;
  }
  if (r.status !== 0) {
    dispose();
    assert.fail(`the probe program does not compile:\n${r.stderr}`);
  }
  return { exe, dispose };
}

/** Runs a compiled probe and parses its "name value" lines. */
export function runProbe(program: CProgram): Map<string, bigint> {
  const r = spawnSync(program.exe, [], { encoding: 'utf8' });
  assert.equal(r.status, 0, `the probe program failed: ${r.stderr}`);
  const values = new Map<string, bigint>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+) (\d+)$/.exec(line);
    if (m !== null) values.set(m[1] as string, BigInt(m[2] as string));
  }
  return values;
}

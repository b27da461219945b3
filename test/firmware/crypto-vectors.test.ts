// The firmware's challenge-response and sealed frames (firmware/tether/auth.py) reproduce every
// value of test/vectors/crypto.json, which src/protocol/auth.ts and Python's hmac agree on: under
// real MicroPython 1.27 (WebAssembly, its hashlib without hmac or copy) and under CPython.
// firmware/tests/mp/crypto_vectors.py recomputes the values from the file's inputs alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FIRMWARE_DIR, loadFirmwareMicroPython, REPO_ROOT, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const FILE = join(REPO_ROOT, 'test', 'vectors', 'crypto.json');
const TEXT = readFileSync(FILE, 'utf8');

interface Sealed {
  frame: string;
  sealed: string;
}
interface Vectors {
  hmac_sha256: { hex: string }[];
  link: { key: string; hello_digest: string; hub_proof: string; board_proof: string; session_key: string; hub_to_board: Sealed[]; board_to_hub: Sealed[] };
  direct: { key: string; client_proof: string; board_proof: string; session_key: string; client_to_board: Sealed[]; board_to_client: Sealed[] };
  refused: { lines: { why: string }[] };
}
type Computed = {
  hmac_sha256: string[];
  link: Record<string, string | string[]>;
  direct: Record<string, string | string[]>;
  refused: boolean[];
};

const V = JSON.parse(TEXT) as Vectors;

async function underMicroPython(): Promise<Computed> {
  const fw = await loadFirmwareMicroPython();
  fw.mp.FS.writeFile('/fw/crypto.json', TEXT);
  const out = fw.run("import crypto_vectors\ncrypto_vectors.main('/fw/crypto.json')");
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as Computed;
}

function underCPython(): Computed {
  const code = [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(join(FIRMWARE_DIR, 'tests', 'host'))})`,
    'import cpython_compat',
    'cpython_compat.install()',
    `sys.path.insert(0, ${JSON.stringify(join(FIRMWARE_DIR, 'tests', 'mp'))})`,
    'import crypto_vectors',
    `crypto_vectors.main(${JSON.stringify(FILE)})`,
  ].join('\n');
  const r = spawnSync('python3', ['-X', 'utf8', '-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Computed;
}

function checkAll(got: Computed): void {
  assert.deepEqual(got.hmac_sha256, V.hmac_sha256.map((c) => c.hex), 'HMAC-SHA256 (RFC 4231 case 2)');
  for (const field of ['key', 'hello_digest', 'hub_proof', 'board_proof', 'session_key'] as const) {
    assert.equal(got.link[field], V.link[field], `link ${field}`);
  }
  for (const field of ['key', 'client_proof', 'board_proof', 'session_key'] as const) {
    assert.equal(got.direct[field], V.direct[field], `direct ${field}`);
  }
  const directions = [
    ['link', 'hub_to_board'],
    ['link', 'board_to_hub'],
    ['direct', 'client_to_board'],
    ['direct', 'board_to_client'],
  ] as const;
  for (const [part, dir] of directions) {
    const items = (V[part] as unknown as Record<string, Sealed[]>)[dir] ?? [];
    assert.ok(items.length > 0, `${part}.${dir} has vectors`);
    // Sealed in order (numbers 0, 1, …), each line with its '\n'; opened back in the same order.
    assert.deepEqual(got[part][dir], items.map((i) => i.sealed + '\n'), `${part} ${dir}: sealed lines`);
    assert.deepEqual(got[part][`${dir}_opened`], items.map((i) => i.frame), `${part} ${dir}: opened frames`);
  }
  assert.equal(got.refused.length, V.refused.lines.length);
  got.refused.forEach((refused, i) => assert.equal(refused, true, `refused: ${V.refused.lines[i]?.why ?? i}`));
}

describe('security: the firmware reproduces test/vectors/crypto.json', { timeout: 60_000 }, () => {
  test('security: under MicroPython 1.27 (WebAssembly)', async () => {
    checkAll(await underMicroPython());
  });

  test('security: under CPython', { skip: SKIP_WITHOUT_PYTHON3 }, () => {
    checkAll(underCPython());
  });
});

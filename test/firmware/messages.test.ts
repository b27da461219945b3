// The firmware keeps its error messages on flash (firmware/tether/messages.json) and names them
// by key in the code; firmware/tests/host/check_messages.py cross-checks the two.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FIRMWARE_DIR, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const CHECK = join(FIRMWARE_DIR, 'tests', 'host', 'check_messages.py');
const skip = SKIP_WITHOUT_PYTHON3;

function problems(root?: string): string[] {
  const r = spawnSync('python3', [CHECK, ...(root === undefined ? [] : [root])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe('firmware message catalog', { skip, timeout: 30_000 }, () => {
  test('every message the code names is in messages.json with as many placeholders as values, and every entry is used', () => {
    assert.deepEqual(problems(), []);
  });

  test('the check finds a missing key, a wrong count, an unused entry and a line the scan cannot read', () => {
    const root = mkdtempSync(join(tmpdir(), 'tether-messages-'));
    try {
      mkdirSync(join(root, 'tether'));
      writeFileSync(
        join(root, 'tether', 'x.py'),
        ["raise ProtoError('bad_field', 'two', 1)", "raise ProtoError('bad_field', 'gone')", "text('one', (1, 2))", "ProtoError('internal', 'a literal text %s' % 1)"].join('\n'),
      );
      writeFileSync(join(root, 'tether', 'messages.json'), '{\n"one": "pin %d",\n"two": "%s and %s",\n"spare": "never used", "three": "x"\n}\n');
      assert.deepEqual(problems(root), [
        'messages.json: not one "key": "text" pair per line: "spare": "never used", "three": "x"',
        'messages.json: 3 lines for 4 messages',
        'tether/x.py:1: "two" given 1 values for 2 placeholders',
        'tether/x.py:2: no message "gone" in messages.json',
        'tether/x.py:3: "one" given 2 values for 1 placeholders',
        'messages.json: "spare" is not used',
        'messages.json: "three" is not used',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

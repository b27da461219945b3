// The hub's manifest_mac on an update commit it relays (protocol.md §5.19).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { keyOfToken } from '../../src/protocol/auth.js';
import { withManifestMac } from '../../src/hub/update-mac.js';

const KEY = keyOfToken('board-token-of-the-shed-0001');
const MANIFEST = 'ab'.repeat(32);

describe('security: the hub authenticates the update manifest it relays', { timeout: 10_000 }, () => {
  test('security: a commit naming version and manifest gets the HMAC of both under the board key', () => {
    const sent = withManifestMac({ action: 'update', op: 'commit', version: '0.1.1', manifest: MANIFEST, manifest_mac: '00'.repeat(32) }, () => KEY);
    // Spelled out here rather than through protocol/auth.ts: the bytes protocol.md §5.19 defines.
    const expected = createHmac('sha256', KEY).update(`tether-update-1 0.1.1 ${MANIFEST}`).digest('hex');
    assert.deepEqual(sent, { action: 'update', op: 'commit', version: '0.1.1', manifest: MANIFEST, manifest_mac: expected });
  });

  test('security: other requests, and a commit without version or manifest, go as they are and ask for no key', () => {
    const keyOf = (): Buffer => assert.fail('no key is needed');
    for (const request of [
      { action: 'update', op: 'begin', version: '0.1.1', manifest: MANIFEST, files: [] },
      { action: 'write_pin', pin: 2, value: 1 },
      { action: 'update', op: 'commit', version: '0.1.1' },
      { action: 'update', op: 'commit', manifest: MANIFEST, version: 7 },
    ]) {
      assert.equal(withManifestMac(request, keyOf), request);
    }
    const unknown = { action: 'update', op: 'commit', version: '0.1.1', manifest: MANIFEST };
    assert.equal(withManifestMac(unknown, () => undefined), unknown, 'no key: the board refuses it');
  });
});

// The hub's firmware releases on their own: a firmware folder kept whole under
// <data>/releases/<version>/, refused with a code when it is not one, read back as the Firmware
// the OTA client sends, and checked against its manifest before it is sent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { OtaClient, collectFirmware, manifestDigest, manifestOf } from '../../src/firmware/index.js';
import { ReleaseError, ReleaseStore } from '../../src/hub/store/releases.js';
import { MemoryOtaChannel } from '../firmware/memory-ota-channel.js';
import { tempDataDir } from '../support/test-hub.js';
import { smallFirmware } from '../support/firmware-folder.js';

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = tempDataDir();
  made.push(dir);
  return dir;
}

function firmwareFolder(version: string, extra: Record<string, string> = {}): string {
  return smallFirmware(version, { 'config/device.json': '{"auth": {"tokens": []}}\n', ...extra }, scratch());
}

function code(c: string): (err: unknown) => boolean {
  return (err) => err instanceof ReleaseError && err.code === c;
}

void describe('ReleaseStore', { timeout: 60_000 }, () => {
  void test("add keeps the files a board takes with the manifest the OTA client sends; firmware() reads them back", async () => {
    const data = scratch();
    const releases = new ReleaseStore(data);
    const dir = firmwareFolder('0.2.0');
    const added = await releases.add(dir, 1_700_000_000_000);
    const original = await collectFirmware(dir);
    assert.equal(added.version, '0.2.0');
    assert.deepEqual(added.files, manifestOf(original.files));
    assert.equal(added.digest, manifestDigest(manifestOf(original.files)));
    assert.equal(added.totalBytes, original.totalBytes);
    assert.ok(!fs.existsSync(path.join(data, 'releases', '0.2.0', 'files', 'config')), "the board's own settings are not part of a release");
    const stored = releases.firmware('0.2.0');
    assert.deepEqual(manifestOf(stored.files), manifestOf(original.files));
    for (const f of stored.files) assert.ok(f.source.startsWith(path.join(data, 'releases', '0.2.0')), 'sent from the hub\'s copy');
    assert.deepEqual(releases.list(), [added]);
    assert.deepEqual(
      fs.readdirSync(path.join(data, 'releases')),
      ['0.2.0'],
      'no half-written folder is left behind',
    );
  });

  void test('a stored release updates a board through the OTA client', async () => {
    const releases = new ReleaseStore(scratch());
    await releases.add(firmwareFolder('0.2.0'));
    const board = new MemoryOtaChannel();
    const result = await new OtaClient(board).update(releases.firmware('0.2.0'), { waitMs: 30_000 });
    assert.equal(result.outcome, 'confirmed');
    assert.equal(board.flash.get('tether/app.py')?.toString(), 'def run():\n    return 42\n');
  });

  void test('a folder that is not a firmware tree, a version that cannot name a folder, and a second add of a version are refused with codes', async () => {
    const releases = new ReleaseStore(scratch());
    const notFirmware = scratch();
    fs.writeFileSync(path.join(notFirmware, 'notes.txt'), 'hello\n');
    await assert.rejects(releases.add(notFirmware), (err: unknown) => code('not_firmware')(err) && (err as ReleaseError).firmwareCode === 'no_version_file');
    await assert.rejects(releases.add(firmwareFolder('0.3.0', { 'tether/bad name.py': '' })), (err: unknown) => code('not_firmware')(err) && (err as ReleaseError).firmwareCode === 'bad_path');
    await assert.rejects(releases.add(firmwareFolder('../../etc')), code('bad_version'));
    await assert.rejects(releases.add(firmwareFolder('.hidden')), code('bad_version'));
    await releases.add(firmwareFolder('0.3.0'));
    await assert.rejects(releases.add(firmwareFolder('0.3.0', { 'tether/more.py': 'X = 1\n' })), code('duplicate_version'));
    assert.equal(releases.manifest('0.3.0').files.length, 3, 'the first release of the version stays as it was');
    assert.deepEqual(releases.list().map((r) => r.version), ['0.3.0']);
  });

  void test('remove takes a release out; an unknown version is refused with unknown_version', async () => {
    const releases = new ReleaseStore(scratch());
    await releases.add(firmwareFolder('1.0.0'), 1);
    await releases.add(firmwareFolder('1.0.1'), 2);
    assert.deepEqual(releases.list().map((r) => r.version), ['1.0.0', '1.0.1']);
    await releases.remove('1.0.0');
    assert.deepEqual(releases.list().map((r) => r.version), ['1.0.1']);
    await assert.rejects(releases.remove('1.0.0'), code('unknown_version'));
    await assert.rejects(releases.remove('..'), code('unknown_version'));
    assert.throws(() => releases.firmware('1.0.0'), code('unknown_version'));
    assert.deepEqual(fs.readdirSync(releases.root), ['1.0.1']);
  });

  void test('a stored file that no longer matches its manifest makes the release damaged, before anything is sent', async () => {
    const data = scratch();
    const releases = new ReleaseStore(data);
    await releases.add(firmwareFolder('2.0.0'));
    fs.appendFileSync(path.join(data, 'releases', '2.0.0', 'files', 'tether', 'app.py'), '# changed\n');
    assert.throws(() => releases.firmware('2.0.0'), (err: unknown) => code('damaged')(err) && /tether\/app\.py/.test((err as Error).message));
    const manifest = path.join(data, 'releases', '2.0.0', 'release.json');
    const json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { files: Array<{ path: string }> };
    json.files[0] = { ...json.files[0], path: '../../outside.py' };
    fs.writeFileSync(manifest, JSON.stringify(json));
    assert.throws(() => releases.manifest('2.0.0'), code('damaged'));
  });

  void test('a damaged release.json does not hide the other releases: the list leaves it out and names it apart; remove takes it out', async () => {
    const data = scratch();
    const releases = new ReleaseStore(data);
    await releases.add(firmwareFolder('1.0.0'));
    await releases.add(firmwareFolder('2.0.0'));
    fs.writeFileSync(path.join(data, 'releases', '1.0.0', 'release.json'), '{ not json');
    assert.deepEqual(releases.list().map((r) => r.version), ['2.0.0']);
    const { damaged } = releases.scan();
    assert.deepEqual(damaged.map((d) => d.version), ['1.0.0']);
    assert.match(damaged[0]?.message ?? '', /release\.json is not JSON/);
    await releases.remove('1.0.0');
    assert.deepEqual(releases.scan(), { releases: releases.list(), damaged: [] });
  });
});

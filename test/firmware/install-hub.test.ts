// `tether install --hub`: a real hub in this process on 127.0.0.1; the fake board's main.py start
// runs the files the install wrote, firmware and config/*.json, under CPython on the shims
// (firmware/tests/host/run_main.py), so "online at the hub" is the installed firmware linking.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { keyOfToken } from '../../src/protocol/auth.js';
import { runInstall } from '../../src/cli/install-command.js';
import { FakeBoard } from '../support/fake-repl.js';
import { FIRMWARE_DIR, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';
import { startTestHub } from '../support/test-hub.js';
import { boardIo, capture, tempDir, wifiFlags } from './install-io.js';
import { freePort } from '../support/free-port.js';

const RUN_MAIN = path.join(FIRMWARE_DIR, 'tests', 'host', 'run_main.py');

/** Starts the board's files under CPython each time the fake board starts main.py (stopping the last run first). */
function runsItsFiles(board: FakeBoard, dirs: string[], children: ChildProcess[], console: string[]): void {
  let last: Promise<unknown> = Promise.resolve();
  board.onMainStart = (files) => {
    const snapshot = new Map(files);
    const previous = children.at(-1);
    last = last.then(async () => {
      if (previous !== undefined && previous.exitCode === null && previous.signalCode === null) {
        const exited = new Promise((r) => previous.once('exit', r));
        previous.kill('SIGKILL');
        await exited;
      }
      const root = tempDir(dirs);
      for (const [p, data] of snapshot) {
        fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
        fs.writeFileSync(path.join(root, p), data);
      }
      const child = spawn('python3', [RUN_MAIN, root], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => console.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => console.push(d.toString()));
      children.push(child);
    });
  };
}

describe('tether install --hub', { skip: SKIP_WITHOUT_PYTHON3, timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const close of closers) await close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('registers the board, writes hub.json, restarts it and waits until it is online; a second run keeps the token', async () => {
    const linkPort = await freePort();
    const hub = await startTestHub({ linkPort });
    closers.push(() => hub.close());
    const work = tempDir(dirs);
    const hubConfig = path.join(work, 'hub.json');
    fs.writeFileSync(hubConfig, JSON.stringify({ data: hub.data, link: { host: '127.0.0.1', port: linkPort }, http: { host: '127.0.0.1', port: hub.http.port } }));
    const boardConfig = path.join(work, 'board.json');
    const adminToken = 'a-long-random-admin-token';
    fs.writeFileSync(boardConfig, JSON.stringify({ name: 'ignored', listen: { host: '127.0.0.1', port: await freePort() }, auth: { tokens: [{ token: adminToken, scope: 'admin' }] } }));

    const board = new FakeBoard();
    const console: string[] = [];
    runsItsFiles(board, dirs, children, console);
    const io = boardIo(board, dirs);
    const flags = { wait: 60, name: 'tank', config: boardConfig, hub: `http://127.0.0.1:${hub.http.port}`, hubConfig, ...wifiFlags(dirs) };
    const first = capture();
    await runInstall(flags, first.ctx, io).catch((err: unknown) => assert.fail(`${String(err)}\nboard console:\n${console.join('')}`));
    assert.match(first.out.join('\n'), /^tank is online at the hub \(tether-mpy \d+\.\d+\.\d+\)$/m);
    assert.ok(first.err.includes(`registered tank at the hub (${hub.data})`), first.err.join('\n'));
    const onBoard = JSON.parse(new TextDecoder().decode(board.files.get('/config/hub.json'))) as { host: string; port: number; device_id: string; token: string };
    assert.deepEqual({ ...onBoard, token: '' }, { host: '127.0.0.1', port: linkPort, device_id: 'tank', token: '' });
    assert.deepEqual((await hub.store.keyOf('tank')), keyOfToken(onBoard.token), 'the board holds the token the hub registered');
    const device = JSON.parse(new TextDecoder().decode(board.files.get('/config/device.json'))) as { name: string; auth: unknown };
    assert.equal(device.name, 'tank', '--name names the given config');
    const bootId = (await hub.store.getDevice('tank'))?.bootId;
    assert.ok((await hub.store.getDevice('tank'))?.online);

    const second = capture();
    await runInstall(flags, second.ctx, io);
    assert.ok(second.err.some((l) => /^copied 0 file\(s\) .*; \d+ unchanged$/.test(l)), second.err.join('\n'));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(board.files.get('/config/hub.json'))), onBoard, 'the token was kept, not rotated');
    assert.notEqual((await hub.store.getDevice('tank'))?.bootId, bootId, 'online again after a new start, not still from the first');

    const other = new FakeBoard();
    const refused = await runInstall(flags, capture().ctx, boardIo(other, dirs)).catch((e: unknown) => e);
    assert.match(String(refused), /already_registered: a board tank is registered at the hub already.*--rotate/);
    assert.equal(other.files.size, 0, 'nothing was written to the other board');
    assert.deepEqual((await hub.store.keyOf('tank')), keyOfToken(onBoard.token), "the first board's token still works");

    // A run cut short after the registration: the next run takes the token it registered up again.
    const cutBoard = new FakeBoard();
    const cutIo = boardIo(cutBoard, dirs);
    const open = cutIo.openPort.bind(cutIo);
    cutIo.openPort = async (p) => open(p).then((port) => (cutBoard.cutWhenWriting('/config/hub.json'), port));
    const cut = await runInstall({ ...flags, name: 'well', wait: 0.5 }, capture().ctx, cutIo).catch((e: unknown) => e);
    assert.match(String(cut), /port_closed/);
    assert.ok((await hub.store.keyOf('well')) !== undefined && fs.existsSync(path.join(cutIo.tokenDir ?? '', 'well.hub-token')));
    assert.equal(cutBoard.files.has('/config/hub.json'), false, 'cut before the board got its token');
    cutIo.openPort = open;
    const resumed = capture();
    await runInstall({ ...flags, name: 'well', wait: 0.5 }, resumed.ctx, cutIo).catch((e: unknown) => assert.match(String(e), /not_online/, 'no already_registered'));
    const wellToken = (JSON.parse(new TextDecoder().decode(cutBoard.files.get('/config/hub.json'))) as { token: string }).token;
    assert.deepEqual((await hub.store.keyOf('well')), keyOfToken(wellToken), 'the board holds the token the cut run registered');
    assert.equal(fs.existsSync(path.join(cutIo.tokenDir ?? '', 'well.hub-token')), false, 'kept only until the board holds it');

    // A board that never links: the wait ends with not_online and what its console printed.
    const silent = new FakeBoard({ mainOutput: "tether: wifi: 'tether-lab' refused the password (wrong password?)\n" });
    const late = await runInstall({ ...flags, name: 'pump', wait: 0.5 }, capture().ctx, boardIo(silent, dirs)).catch((e: unknown) => e);
    assert.match(String(late), /not_online: pump did not link to the hub within 0\.5 s\. Its console said:\n {2}tether: wifi: 'tether-lab' refused the password \(wrong password\?\)\n/);
    assert.ok((await hub.store.keyOf('pump')) !== undefined, 'registered before the copy');
  });
});

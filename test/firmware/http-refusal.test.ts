// The MicroPython firmware closes a connection that speaks HTTP before any of its lines run
// (protocol.md §2 rule 7), as a browser on the LAN would send it from any web page: over raw TCP
// to the firmware's real modules under CPython (run_board.py on the shims), and the session
// tests of firmware/tests/mp/test_http_refusal.py under real MicroPython 1.27 (WebAssembly).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { assertClosedUnanswered } from '../support/closed-unanswered.js';
import { LineClient } from '../support/line-client.js';
import { runFirmwareTestsUnderMicroPython, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const BODY = '{"action":"setup_pin","pin":2,"mode":"output","value":0}\n{"action":"write_pin","pin":2,"value":1,"timeout":5}\n';
const POST = ['POST / HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: text/plain;charset=UTF-8', `Content-Length: ${Buffer.byteLength(BODY)}`, '', BODY].join('\r\n');
const REFUSED = /closed a connection that sent HTTP/g;

describe('security: the firmware over TCP (CPython, machine shims)', { skip: SKIP_WITHOUT_PYTHON3, timeout: 60_000 }, () => {
  let board: FirmwareBoard;

  before(async () => {
    board = await startFirmwareBoard({ name: 'fw-http-target', auth: 'none', pins: [{ pin: 6, mode: 'input' }] });
  });
  after(() => board.close());

  async function assertPin2Untouched(): Promise<void> {
    assert.equal((await board.state()).levels['2'], 0, 'pin 2 was never driven high');
    const client = await LineClient.connect(board.port);
    try {
      const reply = await client.request({ action: 'read_pin', pin: 2 });
      assert.equal((reply['error'] as { code: string } | undefined)?.code, 'pin_not_setup', JSON.stringify(reply));
    } finally {
      client.close();
    }
  }

  test('security: a browser-style POST is closed, with one console line, and its body never runs', async () => {
    const before = board.stderr().match(REFUSED)?.length ?? 0;
    await assertClosedUnanswered(board.port, POST);
    await assertPin2Untouched();
    assert.equal((board.stderr().match(REFUSED)?.length ?? 0) - before, 1, board.stderr());
  });

  test('security: a connection that opens with a header line is closed too', async () => {
    await assertClosedUnanswered(board.port, `Origin: http://evil.example\r\nContent-Type: text/plain\r\n\r\n${BODY}`);
    await assertPin2Untouched();
  });

  test('security: JSON traffic with CRLF and blank lines still works', async () => {
    const client = await LineClient.connect(board.port);
    try {
      await client.write('\r\n  \n{"action":"ping","id":7}\r\n\n');
      assert.equal((await client.next())['id'], 7);
      assert.equal(client.closed, false);
    } finally {
      client.close();
    }
  });
});

const results = await runFirmwareTestsUnderMicroPython(['test_http_refusal']);

describe('security: the firmware session under MicroPython 1.27 (WebAssembly)', { timeout: 30_000 }, () => {
  test('security: the refusal tests ran', () => {
    assert.ok(results.length >= 5, JSON.stringify(results.map((r) => r.name)));
  });
  for (const r of results) {
    test(`security: ${r.name}`, () => {
      if (!r.ok) assert.fail(r.message);
    });
  }
});

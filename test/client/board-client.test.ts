// The client SDK against a fake board on a real socket. The same suite runs over plain TCP
// and over TLS (STYLE.md: one shared suite over every transport).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect, TetherError, type BoardClient, type ConnectOptions, type TetherEvent } from '../../src/client/index.js';
import { encodeFrame, type JsonObject } from '../../src/protocol/index.js';
import { FakeBoard, GOOD_TOKEN, answer, fail, ok, reply, type FakeConnection } from './fake-board.js';
import { loadTestCert } from './tls-cert.js';

const cert = loadTestCert();

interface Transport {
  name: string;
  server: { key: Buffer; cert: Buffer } | undefined;
  client: ConnectionOptions | undefined;
}

const transports: Transport[] = [
  { name: 'plain TCP', server: undefined, client: undefined },
  { name: 'TLS', server: { key: cert.key, cert: cert.cert }, client: { ca: cert.cert } },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isCode(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof TetherError, `expected a TetherError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

async function waitFor(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function take(iterator: AsyncIterable<TetherEvent>, n: number): Promise<TetherEvent[]> {
  const out: TetherEvent[] = [];
  if (n === 0) return out;
  for await (const event of iterator) {
    out.push(event);
    if (out.length === n) break;
  }
  return out;
}

for (const transport of transports) {
  void describe(`BoardClient over ${transport.name}`, { timeout: 30_000 }, () => {
    let board: FakeBoard;
    let clients: BoardClient[] = [];

    beforeEach(async () => {
      board = await FakeBoard.start(transport.server === undefined ? {} : { tls: transport.server });
    });

    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
      await board.close();
    });

    async function open(options: Partial<ConnectOptions> = {}): Promise<{ client: BoardClient; conn: FakeConnection }> {
      const next = board.nextConnection();
      const client = await connect({
        host: '127.0.0.1',
        port: board.port,
        timeoutMs: 2000,
        ...(transport.client === undefined ? {} : { tls: transport.client }),
        ...options,
      });
      clients.push(client);
      return { client, conn: await next };
    }

    void it('pipelines a batch: every request is written before any reply, replies come back in order', async () => {
      const count = 50;
      // This board answers nothing until it holds the whole batch, so a stop-and-wait client would stall.
      board.handler = (_request, conn) => {
        if (conn.received.length < count) return;
        conn.write(conn.received.map((r) => encodeFrame(reply(r, conn))).join(''));
      };
      const { client, conn } = await open();
      const batch = Array.from({ length: count }, (_, i) =>
        i === 10 ? { action: 'read_pin', pin: 9, id: i } : i === 0 ? { action: 'setup_pin', pin: 2, mode: 'output', value: 1, id: i } : { action: 'read_pin', pin: 2, id: i },
      );
      const replies = await client.send(batch);
      assert.deepEqual(
        replies.map((r) => r['id']),
        batch.map((r) => r.id),
      );
      assert.equal(replies[1]?.['value'], 1);
      // Error replies are returned, not thrown.
      assert.equal(replies[10]?.['ok'], false);
      assert.deepEqual((replies[10]?.['error'] as JsonObject)['code'], 'pin_not_setup');
      assert.equal(conn.received.length, count);
    });

    void it('reassembles replies split across reads at odd offsets, even inside a multi-byte UTF-8 character', async () => {
      board.handler = (request, conn) => {
        if (conn.received.length < 3) return;
        const bytes = Buffer.from(conn.received.map((r) => encodeFrame(reply(r, conn))).join(''), 'utf8');
        const degree = bytes.indexOf(Buffer.from('°', 'utf8'));
        const firstNewline = bytes.indexOf(0x0a);
        assert.ok(degree > 0 && firstNewline > 0, String(request['action']));
        // Inside "°" (2 bytes), just before and just after a newline, and a few odd places.
        void conn.writeSplit(bytes, [1, 7, firstNewline, firstNewline + 1, degree + 1, degree + 2, bytes.length - 1]);
      };
      const { client } = await open();
      const [sensors, reading, version] = await client.send([{ action: 'list_sensors' }, { action: 'read_sensor', name: 'air' }, { action: 'get_version' }]);
      assert.deepEqual((sensors?.['sensors'] as JsonObject[])[0]?.['quantities'], { temperature: '°C', humidity: '%' });
      assert.deepEqual(reading?.['units'], { temperature: '°C', humidity: '%' });
      assert.equal(version?.['version'], '0.1.0');
    });

    void it('times out a request, keeps its slot, and drops its late reply', async () => {
      // Like a real board, this one answers in order: the second reply waits for the slow first one.
      let chain = Promise.resolve();
      board.handler = (request, conn) => {
        const delay = request['id'] === 'slow' ? 300 : 0;
        chain = chain.then(async () => {
          await sleep(delay);
          conn.send(reply(request, conn));
        });
      };
      const { client } = await open({ timeoutMs: 100 });
      const started = Date.now();
      await assert.rejects(client.request({ action: 'ping', id: 'slow' }), isCode('timeout'));
      const waited = Date.now() - started;
      assert.ok(waited >= 90 && waited < 280, `timed out after ${waited} ms`);
      const second = await client.request({ action: 'get_version', id: 'second' }, { timeoutMs: 2000 });
      assert.equal(second['id'], 'second');
      assert.equal(second['version'], '0.1.0');
    });

    void it("throws a TetherError with the board's code and the whole reply", async () => {
      const { client } = await open();
      await assert.rejects(client.readPin(9), (err: unknown) => {
        assert.ok(err instanceof TetherError);
        assert.equal(err.code, 'pin_not_setup');
        assert.match(err.message, /pin 9 is not set up/);
        assert.equal(err.reply?.['pin'], 9);
        return true;
      });
      await assert.rejects(client.request({ action: 'no_such_action' }), isCode('unknown_action'));
      await assert.rejects(client.readSensor('nope'), isCode('bad_field'));
    });

    void it('a line that is not a reply is a bad_reply for its request, and later replies stay aligned', async () => {
      board.handler = (request, conn) => {
        if (request['id'] === 'garbage') conn.write('this is not json\n');
        else if (request['id'] === 'array') conn.write('[1,2,3]\n');
        else if (request['id'] === 'no-ok') conn.write('{"action":"ping"}\n');
        else answer(request, conn, board);
      };
      const { client } = await open();
      const results = await Promise.allSettled(
        client.pipeline([
          { action: 'ping', id: 'garbage' },
          { action: 'ping', id: 'array' },
          { action: 'ping', id: 'no-ok' },
          { action: 'get_version', id: 'fine' },
        ]),
      );
      for (const r of results.slice(0, 3)) {
        assert.equal(r.status, 'rejected');
        isCode('bad_reply')(r.reason);
      }
      assert.equal(results[3]?.status, 'fulfilled');
      assert.equal(results[3].value['id'], 'fine');
    });

    void it('a reply missing its result field is a bad_reply', async () => {
      board.handler = (request, conn) => conn.send(ok(request));
      const { client } = await open();
      await assert.rejects(client.getVersion(), (err: unknown) => isCode('bad_reply')(err) && /version/.test((err as Error).message));
      await assert.rejects(client.readPin(2), isCode('bad_reply'));
    });

    void it('routes events to their subscription and to every events() stream', async () => {
      board.handler = (request, conn) => {
        if (request['action'] !== 'subscribe') return answer(request, conn, board);
        const r = reply(request, conn);
        // The first event rides in the same write as the subscribe reply.
        conn.write(encodeFrame(r) + encodeFrame({ event: 'edge', pin: 22, value: 1, sub: r['sub'], seq: 1, ts: 10 }));
      };
      const { client, conn } = await open();
      const all = client.events();
      const sub = await client.subscribe({ pin: 22, edge: 'rising' });
      assert.equal(sub.id, 1);
      conn.event({ event: 'reading', sub: 99, values: { temperature: 20 }, units: { temperature: '°C' } });
      conn.event({ event: 'lease_expired', pin: 2, value: 0 });
      conn.event({ event: 'edge', pin: 22, value: 0, sub: 1 });
      const mine = await take(sub, 2);
      assert.deepEqual(
        mine.map((e) => [e.event, e['value']]),
        [
          ['edge', 1],
          ['edge', 0],
        ],
      );
      const every = await take(all, 4);
      assert.deepEqual(
        every.map((e) => e.event),
        ['edge', 'reading', 'lease_expired', 'edge'],
      );
      all.close();
      // `take` broke out of the subscription's loop, which unsubscribes.
      await waitFor(() => conn.received.some((r) => r['action'] === 'unsubscribe'), 'unsubscribe');
      assert.deepEqual(conn.received.find((r) => r['action'] === 'unsubscribe'), { action: 'unsubscribe', sub: 1 });
      assert.deepEqual(conn.received[0], { action: 'subscribe', pin: 22, edge: 'rising' });

      const sensor = await client.subscribe({ sensor: 'air', intervalMs: 500 });
      assert.deepEqual(conn.received.at(-1), { action: 'subscribe', sensor: 'air', interval_ms: 500 });
      await sensor.close();
      await sensor.close();
      assert.deepEqual(conn.received.at(-1), { action: 'unsubscribe', sub: sensor.id });
      assert.equal(conn.received.filter((r) => r['action'] === 'unsubscribe').length, 2);
    });

    void it('bounds event buffers: a slow consumer loses the oldest events, counted in dropped', async () => {
      const { client, conn } = await open({ eventBufferSize: 5 });
      const sub = await client.subscribe({ pin: 22 });
      const all = client.events();
      for (let i = 0; i < 20; i++) conn.event({ event: 'edge', pin: 22, value: i % 2, sub: sub.id, n: i });
      await client.ping(); // its reply comes after the 20 events, so they have all been read
      assert.equal(sub.dropped, 15);
      assert.equal(all.dropped, 15);
      await sub.close();
      const kept = await take(sub, 5);
      assert.deepEqual(
        kept.map((e) => e['n']),
        [15, 16, 17, 18, 19],
      );
      all.close();
    });

    void it('when the board drops the connection, pending requests reject with connection_closed and iterators end', async () => {
      board.handler = (request, conn) => {
        if (request['action'] === 'reset') conn.socket.destroy();
        else answer(request, conn, board);
      };
      const { client } = await open();
      const all = client.events();
      const sub = await client.subscribe({ pin: 22 });
      const ended = (async () => {
        const [a, b] = await Promise.all([take(all, 100), take(sub, 100)]);
        return a.length + b.length;
      })();
      const [first, second, third] = client.pipeline([{ action: 'ping' }, { action: 'reset' }, { action: 'ping' }]);
      assert.equal((await first)?.['ok'], true);
      await assert.rejects(second as Promise<JsonObject>, isCode('connection_closed'));
      await assert.rejects(third as Promise<JsonObject>, (err: unknown) => isCode('connection_closed')(err) && /closed by the board|ECONNRESET/.test((err as Error).message));
      assert.equal(await ended, 0);
      await client.closed;
      assert.equal(client.isOpen, false);
      await assert.rejects(client.ping(), isCode('connection_closed'));
      assert.deepEqual(await client.send([]), []);
      await client.close();
    });

    void it('close() ends the connection cleanly and later requests fail at once', async () => {
      const { client, conn } = await open();
      await client.ping();
      const serverSawEnd = once(conn.socket, 'end');
      await client.close();
      await serverSawEnd;
      assert.equal(client.isOpen, false);
      await assert.rejects(client.getVersion(), isCode('connection_closed'));
      await client.close();
      const late = client.events();
      assert.deepEqual(await take(late, 1), []);
    });

    void it('security: proves the token by challenge and response without sending it, seals what follows, and fails connect when the board refuses it', async () => {
      const { client, conn } = await open({ token: GOOD_TOKEN });
      assert.equal(conn.received[0]?.['action'], 'challenge');
      assert.match(String(conn.received[0]?.['nonce']), /^[0-9a-f]{32}$/);
      assert.deepEqual(Object.keys(conn.received[1] ?? {}).sort(), ['action', 'proof', 'seal']);
      assert.equal(conn.received[1]?.['seal'], true);
      assert.equal((await client.getVersion()).protocol, 1);
      assert.equal(conn.received[2]?.['action'], 'get_version');
      assert.match(conn.raw.toString('utf8'), /\n\{"mac":"[0-9a-f]{32}","action":"get_version"\}\n$/, 'the request after auth went out sealed');
      assert.ok(!conn.raw.includes(GOOD_TOKEN), 'the token never crossed the connection');
      assert.equal(client.isOpen, true);
      const next = board.nextConnection();
      await assert.rejects(
        connect({ host: '127.0.0.1', port: board.port, token: 'wrong-token-wrong-token', ...(transport.client === undefined ? {} : { tls: transport.client }) }),
        (err: unknown) => isCode('unauthorized')(err) && /refused the token/.test((err as Error).message),
      );
      const refused = await next;
      await waitFor(() => refused.socket.closed, 'the refused connection to close');
    });

    void it("auth: 'plain' sends the token itself, for boards that do not know challenge", async () => {
      const { client, conn } = await open({ token: GOOD_TOKEN, auth: 'plain' });
      assert.deepEqual(conn.received[0], { action: 'auth', token: GOOD_TOKEN });
      await client.ping();
      assert.deepEqual(conn.received[1], { action: 'ping' });
    });

    void it('security: a board that does not know challenge fails connect with challenge_unsupported, and the token is never sent', async () => {
      board.handler = (request, conn) => conn.send(request['action'] === 'challenge' ? fail(request, 'unknown_action', 'action: no action named "challenge"') : reply(request, conn));
      const next = board.nextConnection();
      await assert.rejects(
        connect({ host: '127.0.0.1', port: board.port, token: GOOD_TOKEN, ...(transport.client === undefined ? {} : { tls: transport.client }) }),
        (err: unknown) => isCode('challenge_unsupported')(err) && /--plain-auth/.test((err as Error).message),
      );
      const conn = await next;
      await waitFor(() => conn.socket.closed, 'the connection to close');
      assert.deepEqual(conn.received.map((r) => r['action']), ['challenge']);
      assert.ok(!conn.raw.includes(GOOD_TOKEN));
    });
  });
}

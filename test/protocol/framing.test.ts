import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeFrame, okReply, errorReply, isEventMessage } from '../../src/protocol/codec.js';
import { LineDecoder, looksLikeHttp } from '../../src/protocol/framing.js';
import { parseRequest } from '../../src/protocol/request.js';
import { ProtocolError } from '../../src/protocol/errors.js';

type Out = string | { oversize: number };

function feed(decoder: LineDecoder, chunks: Buffer[]): Out[] {
  const out: Out[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk, { frame: (b) => out.push(b.toString('utf8')), oversize: (limit) => out.push({ oversize: limit }) });
  }
  return out;
}

describe('LineDecoder', { timeout: 30_000 }, () => {
  const text = '{"action":"ping","note":"ünï€😀"}\n{"action":"read_pin","pin":2}\n';
  const bytes = Buffer.from(text);

  test('every split point of a stream with multi-byte characters gives the same frames', () => {
    const expected = ['{"action":"ping","note":"ünï€😀"}', '{"action":"read_pin","pin":2}'];
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 3)]) {
        const got = feed(new LineDecoder(), [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        assert.deepEqual(got, expected, `split at ${i}/${j}`);
      }
    }
  });

  test('one byte at a time', () => {
    const got = feed(new LineDecoder(), [...bytes].map((b) => Buffer.from([b])));
    assert.equal(got.length, 2);
  });

  test('CRLF endings are accepted and blank lines ignored', () => {
    const got = feed(new LineDecoder(), [Buffer.from('\r\n\n  \t\n{"a":1}\r\n\r\n{"b":2}\n\n')]);
    assert.deepEqual(got, ['{"a":1}', '{"b":2}']);
  });

  test('many frames in one chunk', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `{"i":${i}}\n`).join('');
    const got = feed(new LineDecoder(), [Buffer.from(many)]);
    assert.equal(got.length, 1000);
    assert.equal(got[999], '{"i":999}');
  });

  test('a frame of exactly the limit passes; one byte more is oversize, once, and the stream resumes', () => {
    const limit = 32;
    const exact = 'x'.repeat(limit);
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(`${exact}\n`)]), [exact]);
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(`${exact}\r\n`)]), [exact], 'the CR does not count');
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(`${exact}y\nok\n`)]), [{ oversize: limit }, 'ok']);
  });

  test('an oversize frame spread over many chunks is reported once and its bytes are not kept', () => {
    const d = new LineDecoder(16);
    const out = feed(d, [Buffer.from('a'.repeat(10)), Buffer.from('b'.repeat(10)), Buffer.from('c'.repeat(1000))]);
    assert.deepEqual(out, [{ oversize: 16 }]);
    assert.equal(d.buffered, 0, 'discarded bytes are not buffered');
    assert.deepEqual(feed(d, [Buffer.from('ccc\nnext\n')]), ['next']);
  });

  test('the decoder copies a held partial frame, so a reused chunk buffer does not corrupt it', () => {
    const d = new LineDecoder();
    const chunk = Buffer.from('{"a":');
    const out: string[] = [];
    d.push(chunk, { frame: (b) => out.push(b.toString()), oversize: () => undefined });
    chunk.fill(0x20);
    d.push(Buffer.from('1}\n'), { frame: (b) => out.push(b.toString()), oversize: () => undefined });
    assert.deepEqual(out, ['{"a":1}']);
  });
});

describe('LineDecoder edges', { timeout: 30_000 }, () => {
  test('a held partial frame of the limit plus its CR is kept; one byte more is oversize', () => {
    const limit = 8;
    const exact = 'x'.repeat(limit);
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(`${exact}\r`), Buffer.from('\n')]), [exact]);
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(exact), Buffer.from('\n')]), [exact]);
    assert.deepEqual(feed(new LineDecoder(limit), [Buffer.from(`${exact}yz`), Buffer.from('\nok\n')]), [{ oversize: limit }, 'ok']);
  });

  test('chunks that arrive while an oversize frame is discarded are not kept for the next frame', () => {
    const d = new LineDecoder(8);
    const out = feed(d, [Buffer.from('a'.repeat(12)), Buffer.from('bbb'), Buffer.from('\n{"a":1}\n')]);
    assert.deepEqual(out, [{ oversize: 8 }, '{"a":1}']);
    assert.equal(d.buffered, 0);
  });

  test('a line of spaces, tabs and stray CRs is blank', () => {
    assert.deepEqual(feed(new LineDecoder(), [Buffer.from(' \r \t\r\n\r\r\n{"a":1}\n')]), ['{"a":1}']);
  });
});

describe('codec messages and replies', { timeout: 30_000 }, () => {
  const failure = (b: Buffer) => {
    const d = decodeFrame(b);
    assert.ok(!d.ok, 'decoded');
    return { code: d.error.code, message: d.error.message };
  };

  test('each refusal says what was wrong and what to send', () => {
    assert.deepEqual(failure(Buffer.from([0xff])), { code: 'bad_utf8', message: 'the frame is not valid UTF-8; send JSON text encoded as UTF-8' });
    assert.deepEqual(failure(Buffer.from('['.repeat(33))), {
      code: 'bad_json',
      message: 'the frame nests arrays or objects deeper than 32 levels; send a flat request',
    });
    const bad = failure(Buffer.from('{'));
    assert.equal(bad.code, 'bad_json');
    assert.match(bad.message, /^the frame is not valid JSON \(.+\); send one JSON object per line$/);
    const kinds: Array<[string, string]> = [['null', 'null'], ['[1]', 'an array'], ['3', 'a number'], ['"x"', 'a string'], ['true', 'a boolean']];
    for (const [text, kind] of kinds) {
      assert.deepEqual(failure(Buffer.from(text)), {
        code: 'not_an_object',
        message: `the frame is ${kind}; each line must be one JSON object such as {"action":"ping"}`,
      }, text);
    }
  });

  test('closing brackets and braces end a level: many shallow siblings are not deep', () => {
    const siblings = (open: string, close: string) => Buffer.from(`{"a":[${Array.from({ length: 40 }, () => `${open}${close}`).join(',')}]}`);
    assert.ok(decodeFrame(siblings('[', ']')).ok, 'arrays');
    assert.ok(decodeFrame(siblings('{', '}')).ok, 'objects');
  });

  test('okReply drops an echoed error field, and works without a request', () => {
    assert.deepEqual(okReply({ action: 'ping', error: 'spoof' }, { v: 1 }), { action: 'ping', v: 1, ok: true });
    assert.deepEqual(okReply(undefined, { v: 1 }), { v: 1, ok: true });
    assert.deepEqual(okReply(undefined, undefined), { ok: true });
  });

  test('isEventMessage: a string event and no ok', () => {
    assert.equal(isEventMessage({ event: 'pin' }), true);
    assert.equal(isEventMessage({ event: 'pin', ok: true }), false);
    assert.equal(isEventMessage({ event: 'pin', ok: false }), false);
    assert.equal(isEventMessage({ event: 1 }), false);
    assert.equal(isEventMessage({ action: 'ping' }), false);
    assert.equal(isEventMessage({ ok: true }), false);
  });
});

describe('codec and request validation', { timeout: 30_000 }, () => {
  test('decodeFrame tells bad UTF-8, bad JSON and non-objects apart', () => {
    const code = (b: Buffer) => {
      const d = decodeFrame(b);
      return d.ok ? 'ok' : d.error.code;
    };
    assert.equal(code(Buffer.from([0xff])), 'bad_utf8');
    assert.equal(code(Buffer.from([0xe2, 0x82])), 'bad_utf8', 'a truncated character');
    assert.equal(code(Buffer.from('{')), 'bad_json');
    assert.equal(code(Buffer.from('[]')), 'not_an_object');
    assert.equal(code(Buffer.from('"x"')), 'not_an_object');
    assert.equal(code(Buffer.from('{"action":"ping"}')), 'ok');
    const deep = (n: number) => Buffer.from(`{"action":"ping","x":${'['.repeat(n)}${']'.repeat(n)}}`);
    assert.equal(code(deep(31)), 'ok', '32 levels with the outer object');
    assert.equal(code(deep(32)), 'bad_json');
    assert.equal(code(deep(100_000)), 'bad_json');
    assert.equal(code(Buffer.from(`{"s":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}`)), 'ok', 'brackets inside strings do not count');
  });

  test('replies echo the request, results win over echoed fields, ok comes last', () => {
    assert.deepEqual(okReply({ action: 'read_pin', pin: 2, ok: 'spoof', id: 'x' }, { value: 1 }), { action: 'read_pin', pin: 2, ok: true, id: 'x', value: 1 });
    assert.deepEqual(errorReply({ action: 'x', error: 'spoof' }, { code: 'unknown_action', message: 'm' }), { action: 'x', ok: false, error: { code: 'unknown_action', message: 'm' } });
  });

  test('numeric strings are coerced; 0/1 fields take booleans; junk is bad_field', () => {
    assert.deepEqual(parseRequest({ action: 'write_pin', pin: '2', value: true, timeout: ' 1.5 ' }), { action: 'write_pin', args: { pin: 2, value: 1, timeout: 1.5 } });
    assert.deepEqual(parseRequest({ action: 'sleep', deep: '0', time_ms: '100' }), { action: 'sleep', args: { deep: false, time_ms: 100 } });
    const bad = (m: Record<string, unknown>) => {
      try {
        parseRequest(m);
        return 'accepted';
      } catch (err) {
        return (err as ProtocolError).code;
      }
    };
    assert.equal(bad({ action: 'read_pin', pin: '2x' }), 'bad_field');
    assert.equal(bad({ action: 'read_pin', pin: '' }), 'bad_field');
    assert.equal(bad({ action: 'read_pin', pin: null }), 'bad_field');
    assert.equal(bad({ action: 'read_pin', pin: JSON.parse('1e400') as number }), 'bad_field', 'Infinity');
    assert.equal(bad({ action: 'write_pin', pin: 2, value: 1, timeout: 'Infinity' }), 'bad_field');
    assert.equal(bad({ action: 'read_pin' }), 'missing_field');
    assert.equal(bad({ action: 'valueOf' }), 'unknown_action');
  });

  test('error messages name the field and the value received', () => {
    try {
      parseRequest({ action: 'setup_pin', pin: 2, mode: 'sideways' });
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.code, 'bad_field');
      assert.match(err.message, /^mode: expected one of input, output, got "sideways"$/);
    }
  });
});

describe('security: looksLikeHttp', { timeout: 30_000 }, () => {
  const http = (line: string) => looksLikeHttp(Buffer.from(line, 'latin1'));

  test('security: request lines of any method and version, and header lines, look like HTTP', () => {
    for (const line of ['POST / HTTP/1.1', 'GET /x HTTP/1.0', 'OPTIONS * HTTP/1.1', 'PROPFIND /a?b=c#d HTTP/2', 'M-SEARCH * HTTP/1.1', 'X /%7B HTTP/10.01']) {
      assert.equal(http(line), true, line);
    }
    for (const line of ['Host: x', 'Content-Type: text/plain', 'Origin: http://a', 'User-Agent: Mozilla/5.0', 'x-custom:', "a!#$%&'*+-.^_`|~9:v"]) {
      assert.equal(http(line), true, line);
    }
  });

  test('security: JSON frames, blank-ish and other non-HTTP lines do not', () => {
    for (const line of [
      '{"action":"ping"}',
      ' {"Host: x":1}',
      '["POST / HTTP/1.1"]',
      '"Host: x"',
      '123',
      'true',
      'ping',
      'POST / HTTP/1.1 extra',
      'POST  / HTTP/1.1',
      'POST / http/1.1',
      'POST / HTTP/',
      'POST / HTTP/1.',
      'POST / HTTP/1.1.1',
      'POST /\x01 HTTP/1.1',
      'POST / HTTP/1.1\r',
      ': x',
      'Host : x',
      '{Host: x}',
      '',
    ]) {
      assert.equal(http(line), false, JSON.stringify(line));
    }
  });
});

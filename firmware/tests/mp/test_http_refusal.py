# A web page can make a browser POST to the board's port (text/plain needs no CORS preflight).
# The session closes a connection that speaks HTTP before any of its lines run
# (docs/protocol.md §2 rule 7): looks_like_http, and a Session over in-memory streams.
import simhw
from scripted_session import run_session
from tether import config
from tether.boards import pico_w
from tether.framing import looks_like_http

BODY = (b'{"action":"setup_pin","pin":2,"mode":"output","value":0}\n'
        b'{"action":"write_pin","pin":2,"value":1,"timeout":5}\n')
POST = (b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n'
        b'Content-Length: %d\r\n\r\n' % len(BODY)) + BODY


async def session_over(chunks):
    cfg = config.normalize({'pins': [{'pin': 6, 'mode': 'input'}], 'auth': 'none'}, pico_w)
    return await run_session(cfg, chunks)


def test_security_request_and_header_lines_look_like_http():
    for line in (b'POST / HTTP/1.1', b'GET /x HTTP/1.0', b'OPTIONS * HTTP/1.1', b'M-SEARCH * HTTP/1.1',
                 b'PUT /a?b=c HTTP/2', b'Host: x', b'Content-Type: text/plain', b'x-custom:',
                 b"a!#$%&'*+-.^_`|~9:v"):
        assert looks_like_http(memoryview(line)), line
    for line in (b'{"action":"ping"}', b' {"Host: x":1}', b'["POST / HTTP/1.1"]', b'"Host: x"', b'123',
                 b'ping', b'POST / HTTP/1.1 extra', b'POST  / HTTP/1.1', b'POST / http/1.1', b'POST / HTTP/',
                 b'POST / HTTP/1.', b'POST / HTTP/1.1.1', b'POST /\x01 HTTP/1.1', b': x', b'Host : x', b''):
        assert not looks_like_http(memoryview(line)), line


async def test_security_a_browser_post_is_closed_with_nothing_run():
    board, reader, writer = await session_over([POST])
    assert simhw.mode(2) is None, 'pin 2 was never set up'
    assert 2 not in board.pins
    assert writer.data == b'', writer.data
    assert writer.closed


async def test_security_a_post_read_a_few_bytes_at_a_time_is_closed_before_its_body():
    board, reader, writer = await session_over([POST[i:i + 7] for i in range(0, len(POST), 7)])
    assert simhw.mode(2) is None
    assert reader.chunks, 'the board stopped reading at the request line'
    assert writer.data == b'' and writer.closed


async def test_security_a_header_line_first_or_after_a_bad_line_closes_the_connection():
    board, reader, writer = await session_over([b'Host: x\r\n\r\n' + BODY])
    assert simhw.mode(2) is None and writer.data == b'' and writer.closed
    board, reader, writer = await session_over([b'hello\n', b'Origin: http://a\r\n\r\n' + BODY])
    assert simhw.mode(2) is None
    assert writer.data.count(b'\n') == 1 and b'bad_json' in writer.data, writer.data


async def test_security_json_traffic_still_works_and_later_http_lines_are_only_bad_json():
    board, reader, writer = await session_over([
        b'\r\n  \n{"action":"ping","id":1}\r\n',
        b'Host: x\n{"action":"setup_pin","pin":3,"mode":"output","value":0,"time_sent":1}\n\n'])
    lines = writer.data.split(b'\n')
    assert len(lines) == 4 and lines[3] == b'', writer.data
    assert b'"id":1' in lines[0] and b'bad_json' in lines[1] and b'"ok":true' in lines[2], writer.data
    assert simhw.mode(3) == simhw.OUT

# Newline framing (docs/protocol.md §2) over one buffer allocated per connection. Frames are
# split on the 0x0A byte before any decoding, so a UTF-8 character cut by a read stays whole.
from micropython import const

_LF = const(10)
_CR = const(13)


class LineBuffer:
    # Holds at most one unfinished frame: max_frame bytes, one for a CR, one to notice overflow.
    def __init__(self, max_frame):
        self.max = max_frame
        self.buf = bytearray(max_frame + 2)
        self.mv = memoryview(self.buf)
        self.fill = 0
        self.discarding = False

    def space(self):
        # Where the next read goes; never empty, since a full buffer is an oversize frame.
        return self.mv[self.fill:]

    def feed(self, n):
        # Takes n bytes just read into space(); yields each complete frame as a memoryview
        # (valid until the next feed) or None for an oversize frame. Blank lines yield nothing.
        buf = self.buf
        start = 0
        scan = self.fill
        end = self.fill + n
        while True:
            nl = buf.find(b'\n', scan, end)
            if nl < 0:
                break
            if self.discarding:
                self.discarding = False
            else:
                stop = nl
                if stop > start and buf[stop - 1] == _CR:
                    stop -= 1
                if stop - start > self.max:
                    yield None
                elif not _blank(buf, start, stop):
                    yield self.mv[start:stop]
            start = scan = nl + 1
        rest = end - start
        if self.discarding:
            self.fill = 0
            return
        if rest > self.max + 1:
            # No newline within the limit (+1 leaves room for a CR): refuse now, skip to the LF.
            self.fill = 0
            self.discarding = True
            yield None
            return
        if start and rest:
            buf[0:rest] = self.mv[start:end]
        self.fill = rest


def _blank(buf, start, stop):
    while start < stop:
        b = buf[start]
        if b != 32 and b != 9 and b != _CR:
            return False
        start += 1
    return True


# HTTP's token characters besides letters and digits (RFC 9110 §5.6.2): a method or a header
# name is made of these. `{`, space and `"` are not, so no JSON frame looks like HTTP.
_TOKEN_PUNCT = b"!#$%&'*+-.^_`|~"


def _token_byte(b):
    return 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b in _TOKEN_PUNCT


def looks_like_http(frame):
    # An HTTP request line (`POST / HTTP/1.1`, any method) or header line (`Host: x`): a browser
    # can be made to send either to the board's port (docs/protocol.md §2 rule 7).
    n = len(frame)
    i = 0
    while i < n and _token_byte(frame[i]):
        i += 1
    if i == 0 or i == n:
        return False
    if frame[i] == 58:  # `Name:` starts a header
        return True
    if frame[i] != 32:
        return False
    i += 1
    target = i
    while i < n and 32 < frame[i] < 127:
        i += 1
    if i == target or i == n or frame[i] != 32:
        return False
    i += 1
    if bytes(frame[i:i + 5]) != b'HTTP/':
        return False
    i += 5
    digits = dots = 0
    while i < n:
        b = frame[i]
        if 48 <= b <= 57:
            digits += 1
        elif b == 46 and digits and not dots:
            dots = 1
            digits = 0
        else:
            return False
        i += 1
    return digits > 0

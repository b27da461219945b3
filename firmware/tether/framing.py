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

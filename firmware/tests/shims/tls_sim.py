# What MicroPython's asyncio Stream.readinto gives on a TLS socket (extmod/asyncio/stream.py over
# extmod/modtls_mbedtls.c, wrapped with do_handshake_on_connect=False): the stream waits until
# the socket is readable, then mbedTLS reads what arrived. Until a whole record has arrived (a
# handshake flight, a record whose TCP segments are still on the way, a TLS 1.3 session ticket)
# mbedtls_ssl_read answers MBEDTLS_ERR_SSL_WANT_READ, which the stream turns into None. Only a
# close_notify (or a closed socket) is 0. The rest of a record already decrypted is given at once,
# without a None (mbedtls_ssl_check_pending makes the socket readable).
import asyncio

# mbedTLS's default maximum plaintext per record (MBEDTLS_SSL_IN_CONTENT_LEN).
RECORD = 16384


class TlsStream:
    # inner: any reader with an async readinto giving the peer's plaintext as it arrives, 0 at its
    # end. handshake: reads that only move the handshake on (a server reads the ClientHello, then
    # the client's Finished; a TLS 1.3 client then gets a session ticket or two). Every record
    # after it comes in two TCP segments, the first of which completes nothing.
    def __init__(self, inner, handshake=2, record=256):
        self.inner = inner
        self.handshake = handshake
        self.record = record
        self.split = False
        self.pending = b''
        self.nones = 0  # want-read answers given so far

    async def readinto(self, mv):
        # The stream's wait for readable: a pause on the event loop, never an answer in itself.
        await asyncio.sleep_ms(0)
        if self.pending:
            return self._give(mv)
        if self.handshake > 0:
            self.handshake -= 1
            self.nones += 1
            return None
        if not self.split:
            # The first segment of the next record: its header and part of its body.
            self.split = True
            self.nones += 1
            return None
        self.split = False
        buf = bytearray(min(RECORD, self.record))
        n = await self.inner.readinto(memoryview(buf))
        if not n:
            return 0  # close_notify
        self.pending = bytes(buf[:n])
        return self._give(mv)

    def _give(self, mv):
        n = min(len(mv), len(self.pending))
        mv[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

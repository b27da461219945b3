# onewire for tests: MicroPython's onewire.py (drivers/onewire) over a simulated bus from simhw
# instead of the _onewire C module, so its ROM search and CRC run as on the board.
import simhw
from micropython import const

_SEARCH_ROM = const(0xF0)
_MATCH_ROM = const(0x55)


class OneWireError(Exception):
    pass


class OneWire:
    SEARCH_ROM = 0xF0
    MATCH_ROM = 0x55
    SKIP_ROM = 0xCC

    def __init__(self, pin):
        self.pin = pin
        self.pin.init(pin.OPEN_DRAIN, pin.PULL_UP)
        self._bus = simhw.ow_bus(pin)

    def reset(self, required=False):
        present = self._bus.reset()
        if required and not present:
            raise OneWireError
        return present

    def readbit(self):
        return self._bus.read_bit()

    def readbyte(self):
        b = 0
        for i in range(8):
            b |= self._bus.read_bit() << i
        return b

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = self.readbyte()

    def write(self, buf):
        for b in buf:
            self.writebyte(b)

    def writebyte(self, val):
        for i in range(8):
            self._bus.write_bit((val >> i) & 1)

    def writebit(self, value):
        self._bus.write_bit(value)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(_MATCH_ROM)
        self.write(rom)

    def scan(self):
        devices = []
        diff = 65
        rom = False
        for i in range(0xFF):
            rom, diff = self._search_rom(rom, diff)
            if rom:
                devices += [rom]
            if diff == 0:
                break
        return devices

    def _search_rom(self, l_rom, diff):
        if not self.reset():
            return None, 0
        self.writebyte(_SEARCH_ROM)
        if not l_rom:
            l_rom = bytearray(8)
        rom = bytearray(8)
        next_diff = 0
        i = 64
        for byte in range(8):
            r_b = 0
            for bit in range(8):
                b = self.readbit()
                if self.readbit():
                    if b:  # no devices, or an error on the bus
                        return None, 0
                else:
                    if not b:  # a collision: devices differ in this bit
                        if diff > i or ((l_rom[byte] & (1 << bit)) and diff != i):
                            b = 1
                            next_diff = i
                self.writebit(b)
                if b:
                    r_b |= 1 << bit
                i -= 1
            rom[byte] = r_b
        return rom, next_diff

    def crc8(self, data):
        return simhw.crc8(data)

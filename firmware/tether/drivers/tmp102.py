# TI TMP102 temperature (TMP102 datasheet, temperature and configuration
# register tables). Same bytes and checks as src/device/drivers/sensors/tmp102.ts.
from micropython import const
from tether.errors import SensorFault
from tether.drivers.common import check_options, hexb

BUS = 'i2c'
ADDRESSES = (0x48, 0x49, 0x4A, 0x4B)
QUANTITIES = {'temperature': '°C'}

_REG_TEMPERATURE = b'\x00'
_REG_CONFIG = b'\x01'
_CONFIG_EM = const(0x10)  # config byte 2, bit 4: extended (13-bit) mode


class Sensor:
    def __init__(self, i2c, address, options):
        check_options('tmp102', options)
        if i2c is None:
            raise ValueError('tmp102 needs an I2C bus')
        self._i2c = i2c
        self._addr = ADDRESSES[0] if address is None else address
        self._buf = bytearray(2)
        self._extended = False

    async def init(self):
        self._i2c.writeto(self._addr, _REG_CONFIG)
        self._i2c.readfrom_into(self._addr, self._buf)
        c1, c2 = self._buf[0], self._buf[1]
        # R1:R0 (byte 1, bits 6:5) read as 11 and byte 2 bits 3:0 as 0 on every TMP102.
        if (c1 & 0x60) != 0x60 or (c2 & 0x0F) != 0:
            raise SensorFault('the configuration register reads %s %s, which no TMP102 returns; is another chip (an ADS1115?) at this address?' % (hexb(c1), hexb(c2)))
        self._extended = (c2 & _CONFIG_EM) != 0

    async def read(self):
        self._i2c.writeto(self._addr, _REG_TEMPERATURE)
        self._i2c.readfrom_into(self._addr, self._buf)
        return {'temperature': decode(self._buf, self._extended)}


def decode(b, extended):
    # Big-endian; 12-bit two's complement, or 13-bit in extended mode; 0.0625 °C/LSB.
    word = (b[0] << 8) | b[1]
    bits = 13 if extended else 12
    raw = word >> (16 - bits)
    if raw & (1 << (bits - 1)):
        raw -= 1 << bits
    return raw * 0.0625

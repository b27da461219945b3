# PT-100 in a voltage divider, read by a TI ADS1115 (ADS1115 datasheet, config register table).
# Same bytes, waits, options and formula as src/device/drivers/sensors/pt100-ads1115.ts.
import asyncio
from micropython import const
from tether.errors import SensorFault
from tether.drivers.common import check_options, round_to

BUS = 'i2c'
ADDRESSES = (0x48, 0x49, 0x4A, 0x4B)
QUANTITIES = {'temperature': '°C'}

_REG_CONVERSION = b'\x00'
_REG_CONFIG = b'\x01'
_OS = const(0x8000)
# OS=1 start, PGA ±4.096 V (001), single-shot, 128 SPS (100), comparator off (11).
_CONFIG_BASE = const(0x8000 | (0b001 << 9) | 0x0100 | (0b100 << 5) | 0b11)
_CONVERSION_WAIT_MS = const(10)  # one conversion at 128 SPS takes 7.8 ms
_POLL_MS = const(2)
_POLL_TRIES = const(5)
_DEFAULTS = (('channel', 0), ('divider_ohms', 97.7), ('supply_v', 3.29), ('counts_per_supply', 26300))


class Sensor:
    def __init__(self, i2c, address, options):
        opts = check_options('pt100_ads1115', options, [k for k, _ in _DEFAULTS])
        for key, default in _DEFAULTS:
            v = opts.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError('pt100_ads1115: options.%s must be a number, not %r' % (key, v))
            if key == 'channel':
                if v not in (0, 1, 2, 3) or v != int(v):
                    raise ValueError('pt100_ads1115: options.channel is an ADS1115 input 0-3, not %r' % (v,))
                v = int(v)
            elif not v > 0:
                raise ValueError('pt100_ads1115: options.%s must be > 0, not %r' % (key, v))
            setattr(self, '_' + key, v)
        if i2c is None:
            raise ValueError('pt100_ads1115 needs an I2C bus')
        self._i2c = i2c
        self._addr = ADDRESSES[0] if address is None else address
        config = _CONFIG_BASE | ((0b100 | self._channel) << 12)  # MUX 1xx: AINx against GND
        self._start = bytes((0x01, config >> 8, config & 0xFF))
        self._buf = bytearray(2)

    def _read_word(self, reg):
        self._i2c.writeto(self._addr, reg)
        self._i2c.readfrom_into(self._addr, self._buf)
        return (self._buf[0] << 8) | self._buf[1]

    async def init(self):
        # Probe: the config register must answer (a missing chip raises OSError here).
        self._read_word(_REG_CONFIG)

    async def read(self):
        self._i2c.writeto(self._addr, self._start)
        await asyncio.sleep_ms(_CONVERSION_WAIT_MS)
        tries = 0
        while not self._read_word(_REG_CONFIG) & _OS:
            tries += 1
            if tries > _POLL_TRIES:
                raise SensorFault('the conversion did not finish within %d ms' % (_CONVERSION_WAIT_MS + _POLL_TRIES * _POLL_MS))
            await asyncio.sleep_ms(_POLL_MS)
        word = self._read_word(_REG_CONVERSION)
        return {'temperature': self.temperature(word - 0x10000 if word & 0x8000 else word)}

    def temperature(self, raw):
        # The PyMoDAQ thermal bench's formulas: counts -> volts -> ohms -> °C (alpha = 0.00385).
        supply = self._supply_v
        v = raw / self._counts_per_supply * supply
        if v >= supply:
            raise SensorFault('the divider reads %.3f V, the full supply: open circuit? Check the PT-100 and its wiring to AIN' % v)
        if v <= 0:
            raise SensorFault('the divider reads %.3f V: short circuit, or the PT-100 is on another AIN channel?' % v)
        r = v * self._divider_ohms / (supply - v)
        return round_to((r - 100) / (100 * 0.00385), 100)

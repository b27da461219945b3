# Aosong AHT10 temperature + humidity (AHT10 datasheet). Same bytes, waits,
# retries and rounding as src/device/drivers/sensors/aht10.ts.
import asyncio
from micropython import const
from tether.errors import SensorFault, text
from tether.drivers.common import check_options, round_to, hexb

BUS = 'i2c'
ADDRESSES = (0x38, 0x39)
QUANTITIES = {'temperature': '°C', 'humidity': '%'}

_RESET = b'\xba'
_CALIBRATE = b'\xe1\x08\x00'
_MEASURE = b'\xac\x33\x00'
_RESET_MS = const(20)
_BUSY = const(0x80)
_CALIBRATED = const(0x08)
# The datasheet asks for >= 75 ms; 80 gives the chip a little slack.
_MEASURE_WAIT_MS = const(80)
_RETRY_MS = const(20)
_RETRIES = const(3)


class Sensor:
    def __init__(self, i2c, address, options):
        check_options('aht10', options)
        if i2c is None:
            raise ValueError(text('aht10_no_bus'))
        self._i2c = i2c
        self._addr = ADDRESSES[0] if address is None else address
        self._buf = bytearray(6)
        self._status = memoryview(self._buf)[:1]

    async def init(self):
        i2c = self._i2c
        i2c.writeto(self._addr, _RESET)
        # The chip ignores commands for 20 ms after a soft reset (datasheet §5.5). asyncio counts
        # whole ticks, so sleep_ms(20) may resume after 19.x ms: one tick more.
        await asyncio.sleep_ms(_RESET_MS + 1)
        i2c.writeto(self._addr, _CALIBRATE)
        await asyncio.sleep_ms(50)
        i2c.readfrom_into(self._addr, self._status)
        status = self._buf[0]
        if not status & _CALIBRATED:
            raise SensorFault(text('aht10_uncalibrated', (hexb(status),)))

    async def read(self):
        i2c = self._i2c
        b = self._buf
        i2c.writeto(self._addr, _MEASURE)
        await asyncio.sleep_ms(_MEASURE_WAIT_MS)
        i2c.readfrom_into(self._addr, b)
        retry = 0
        while b[0] & _BUSY and retry < _RETRIES:
            await asyncio.sleep_ms(_RETRY_MS)
            i2c.readfrom_into(self._addr, b)
            retry += 1
        if b[0] & _BUSY:
            raise SensorFault(text('aht10_busy', (_MEASURE_WAIT_MS + _RETRIES * _RETRY_MS,)))
        return decode(b)


def decode(b):
    # 20-bit humidity, then 20-bit temperature, after the status byte.
    raw_h = (b[1] << 12) | (b[2] << 4) | (b[3] >> 4)
    raw_t = ((b[3] & 0x0F) << 16) | (b[4] << 8) | b[5]
    return {'temperature': round_to(raw_t / 1048576 * 200 - 50, 100), 'humidity': round_to(raw_h / 1048576 * 100, 100)}

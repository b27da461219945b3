# Aosong DHT22 / AM2302 temperature + humidity on one pin (AM2302 datasheet), through
# MicroPython's dht module. options: pin. The chip gives at most one reading every 2 s, so a
# read sooner than that returns the last one.
import time
import dht
from machine import Pin
from micropython import const
from tether.errors import SensorFault
from tether.drivers.common import check_options, pin_option, round_to

BUS = 'pin'
ADDRESSES = ()
QUANTITIES = {'temperature': '°C', 'humidity': '%'}

_MIN_INTERVAL_MS = const(2000)


class Sensor:
    # A test may lower this on an instance instead of waiting 2 s.
    min_interval_ms = _MIN_INTERVAL_MS

    def __init__(self, i2c, address, options):
        opts = check_options('dht22', options, ('pin',))
        self._pin = pin_option('dht22', opts)
        self._dht = None
        self._at = None
        self._last = None

    async def init(self):
        self._dht = dht.DHT22(Pin(self._pin))
        self._measure()

    async def read(self):
        if self._at is not None and time.ticks_diff(time.ticks_ms(), self._at) < self.min_interval_ms:
            return dict(self._last)
        return dict(self._measure())

    def _measure(self):
        d = self._dht
        try:
            d.measure()
        except OSError:
            raise SensorFault('no answer from the DHT22 on pin %d; check the wiring, its 3.3 V supply and the pull-up on the data line' % self._pin)
        except Exception:
            # dht raises a bare Exception('checksum error').
            raise SensorFault('the DHT22 on pin %d sent a bad checksum; check the cable (keep it short) and the pull-up' % self._pin)
        t = round_to(d.temperature(), 10)
        h = round_to(d.humidity(), 10)
        # The chip's range is -40..80 °C and 0..100 %; beyond that the bits were misread.
        if not (-40 <= t <= 80 and 0 <= h <= 100):
            raise SensorFault('the DHT22 on pin %d reports %s °C, %s %%, which cannot be right; check the cable and the pull-up' % (self._pin, t, h))
        self._at = time.ticks_ms()
        self._last = {'temperature': t, 'humidity': h}
        return self._last

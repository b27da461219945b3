# Maxim DS18B20 1-Wire temperature (DS18B20 datasheet), through MicroPython's onewire and
# ds18x20 modules. options: pin (the data line, with a 4.7 kΩ pull-up), rom (16 hex digits) to
# choose one sensor when several share the line.
import asyncio
import onewire
import ds18x20
from machine import Pin
from micropython import const
from tether.errors import SensorFault
from tether.drivers.common import check_options, pin_option

BUS = 'pin'
ADDRESSES = ()
QUANTITIES = {'temperature': '°C'}

_CONVERSION_MS = const(750)  # 12-bit resolution


def _hex(rom):
    return ''.join('%02x' % b for b in rom)


class Sensor:
    def __init__(self, i2c, address, options):
        opts = check_options('ds18b20', options, ('pin', 'rom'))
        self._pin = pin_option('ds18b20', opts)
        want = opts.get('rom')
        if want is not None:
            if not isinstance(want, str) or len(want) != 16:
                raise ValueError('ds18b20: options.rom is the 64-bit ROM code as 16 hex digits, not %r' % (want,))
            try:
                want = bytes(int(want[i:i + 2], 16) for i in range(0, 16, 2))
            except ValueError:
                raise ValueError('ds18b20: options.rom is the 64-bit ROM code as 16 hex digits, not %r' % (want,))
        self._want = want
        self._rom = None
        self._ds = None

    async def init(self):
        self._ds = ds18x20.DS18X20(onewire.OneWire(Pin(self._pin)))
        roms = self._ds.scan()
        where = 'on pin %d' % self._pin
        if not roms:
            raise SensorFault('no DS18B20 answers %s; check the wiring, the 3.3 V supply and the 4.7 kΩ pull-up on the data line' % where)
        if self._want is not None:
            for rom in roms:
                if bytes(rom) == self._want:
                    self._rom = bytes(rom)
                    return
            raise SensorFault('no DS18B20 with ROM %s %s; found %s' % (_hex(self._want), where, ', '.join(_hex(r) for r in roms)))
        if len(roms) > 1:
            raise SensorFault('%d DS18B20s answer %s (%s); choose one with options.rom' % (len(roms), where, ', '.join(_hex(r) for r in roms)))
        self._rom = bytes(roms[0])

    async def read(self):
        ds = self._ds
        try:
            ds.convert_temp()
        except Exception:
            # onewire.OneWireError: no presence pulse after the reset.
            raise SensorFault('no DS18B20 answers on pin %d any more; check the wiring and the pull-up' % self._pin)
        await asyncio.sleep_ms(_CONVERSION_MS)
        try:
            t = ds.read_temp(self._rom)
        except Exception:
            # ds18x20 raises a bare Exception('CRC error'); OneWireError when nobody answers.
            raise SensorFault('the scratchpad of %s fails its CRC (or it stopped answering); check the contacts, the cable length and the pull-up' % _hex(self._rom))
        if t == 85:
            # The power-on value: the conversion never ran, usually parasite power without a
            # strong pull-up. A real 85 °C reads the same; a second sensor can tell them apart.
            raise SensorFault('%s reads 85 °C, its power-on value: the conversion did not run; check VDD (parasite power needs a strong pull-up)' % _hex(self._rom))
        return {'temperature': t}

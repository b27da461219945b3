# Microchip EMC2101: internal and external-diode temperatures (EMC2101 datasheet,
# register set). Same registers and checks as src/device/drivers/sensors/emc2101.ts.
from micropython import const
from tether.errors import SensorFault
from tether.drivers.common import check_options, hexb

BUS = 'i2c'
ADDRESSES = (0x4C,)
QUANTITIES = {'temperature': '°C', 'external_temperature': '°C'}

_REG_INTERNAL = const(0x00)
_REG_EXTERNAL_HIGH = const(0x01)
_REG_EXTERNAL_LOW = const(0x10)
_REG_PRODUCT_ID = const(0xFD)
_REG_MANUFACTURER_ID = const(0xFE)
_SMSC = const(0x5D)
_PRODUCTS = (0x16, 0x28)  # EMC2101, EMC2101-R
# What the chip reports instead of a reading when its diode is open or shorted (11-bit codes).
_OPEN = const(0x3F8)
_SHORT = const(0x3FF)


class Sensor:
    def __init__(self, i2c, address, options):
        check_options('emc2101', options)
        if i2c is None:
            raise ValueError('emc2101 needs an I2C bus')
        self._i2c = i2c
        self._addr = ADDRESSES[0] if address is None else address
        self._reg = bytearray(1)
        self._val = bytearray(1)

    def _read_register(self, reg):
        self._reg[0] = reg
        self._i2c.writeto(self._addr, self._reg)
        self._i2c.readfrom_into(self._addr, self._val)
        return self._val[0]

    async def init(self):
        maker = self._read_register(_REG_MANUFACTURER_ID)
        product = self._read_register(_REG_PRODUCT_ID)
        if maker != _SMSC or product not in _PRODUCTS:
            raise SensorFault('manufacturer/product ID %s/%s is not an EMC2101 (expected 0x5d/0x16 or 0x5d/0x28)' % (hexb(maker), hexb(product)))

    async def read(self):
        internal = self._read_register(_REG_INTERNAL)
        # Reading the high byte latches the low byte, so high goes first.
        high = self._read_register(_REG_EXTERNAL_HIGH)
        low = self._read_register(_REG_EXTERNAL_LOW)
        code = (high << 3) | (low >> 5)
        if code == _OPEN or code == _SHORT:
            raise SensorFault('the external diode reads %s (%s %s); check the diode wiring on DP/DN' % ('open' if code == _OPEN else 'shorted', hexb(high), hexb(low)))
        return {'temperature': _int8(internal), 'external_temperature': _int8(high) + (low >> 5) * 0.125}


def _int8(b):
    return b - 0x100 if b & 0x80 else b

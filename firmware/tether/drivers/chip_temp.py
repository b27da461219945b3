# The microcontroller's own temperature sensor (RP2040 datasheet §4.9.5), through
# the board-support module; same rounding as src/device/drivers/sensors/chip-temp.ts.
from tether.drivers.common import check_options, round_to

BUS = 'internal'
ADDRESSES = ()
QUANTITIES = {'temperature': '°C'}


class Sensor:
    def __init__(self, i2c, address, options):
        check_options('chip_temp', options)
        from tether import boards
        self._board = boards.detect()
        if getattr(self._board, 'chip_temp_c', None) is None:
            raise ValueError('%s has no internal temperature sensor; remove the chip_temp sensor from the config' % self._board.NAME)

    async def init(self):
        self._board.chip_temp_c()

    async def read(self):
        return {'temperature': round_to(self._board.chip_temp_c(), 100)}

# Driver registry (STYLE.md: registries for drivers), lazy: a board imports only the drivers its
# config names, which keeps the others' code and constants out of RAM. Same ids as the TS
# registries (src/device/drivers/*/index.ts), plus the 1-Wire and DHT sensors a MicroPython
# board can read directly.
import sys
from tether.errors import text

SENSORS = {
    'aht10': 'aht10',
    'tmp102': 'tmp102',
    'emc2101': 'emc2101',
    'pt100_ads1115': 'pt100_ads1115',
    'ds18b20': 'ds18b20',
    'dht22': 'dht22',
    'chip_temp': 'chip_temp',
}
ACTUATORS = {'digital': 'digital', 'pwm': 'pwm'}


def _load(kind, table, driver_id):
    name = table.get(driver_id) if isinstance(driver_id, str) else None
    if name is None:
        raise ValueError(text('unknown_driver', (kind, driver_id, ', '.join(sorted(table)))))
    full = 'tether.drivers.' + name
    __import__(full)
    return sys.modules[full]


def load_sensor(driver_id):
    # The driver's module: BUS, ADDRESSES, QUANTITIES and class Sensor.
    return _load('sensor', SENSORS, driver_id)


def load_actuator(driver_id):
    # The driver's module: class Actuator.
    return _load('actuator', ACTUATORS, driver_id)

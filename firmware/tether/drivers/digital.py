# A digital output: relay, LED, buzzer. Logical 1 is "on"; option active_low (default false)
# inverts the pin, as src/device/drivers/actuators/digital.ts does.
from machine import Pin
from tether.drivers.common import check_options
from tether.errors import text


class Actuator:
    kind = 'digital'

    def __init__(self, pin, options):
        opts = check_options('digital', options, ('active_low',))
        active_low = opts.get('active_low', False)
        if active_low is not True and active_low is not False:
            raise ValueError(text('opt_active_low', (active_low,)))
        self._id = pin
        self._invert = 1 if active_low else 0
        self._pin = None
        self._value = 0

    def init(self, safe_value):
        v = _level(safe_value)
        # value= sets the level before the pin turns into an output: a relay never blips on.
        self._pin = Pin(self._id, Pin.OUT, value=v ^ self._invert)
        self._value = v

    def apply(self, value):
        v = _level(value)
        if self._pin is None:
            raise ValueError(text('digital_no_init'))
        self._pin.value(v ^ self._invert)
        self._value = v

    def current(self):
        return self._value

    def release(self):
        # An input leaves the line to the load's own pull resistor (off, on relay boards).
        if self._pin is not None:
            self._pin.init(Pin.IN, None)
            self._pin = None


def _level(v):
    if v is True or v is False or (v != 0 and v != 1):
        raise ValueError(text('digital_value', (v,)))
    return int(v)

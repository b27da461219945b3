# A PWM output: dimmer, fan, heater through a MOSFET. The value is the duty cycle 0..1; option
# freq (Hz, default 1000) holds until a write gives another, as
# src/device/drivers/actuators/pwm.ts does.
from machine import Pin, PWM
from tether.drivers.common import check_options
from tether.errors import text

_INF = float('inf')


class Actuator:
    kind = 'pwm'

    def __init__(self, pin, options):
        opts = check_options('pwm', options, ('freq',))
        freq = opts.get('freq', 1000)
        if isinstance(freq, bool) or not isinstance(freq, (int, float)) or freq != int(freq) or freq < 1:
            raise ValueError(text('opt_pwm_freq', (freq,)))
        self._id = pin
        self._pwm = None
        self._duty = 0
        self._u16 = 0
        self._freq = int(freq)

    def init(self, safe_value):
        self._set(safe_value, self._freq)

    def apply(self, duty, freq=None):
        self._set(duty, self._freq if freq is None else freq)

    def current(self):
        return self._duty

    def frequency(self):
        return self._freq

    def actual(self):
        # (Hz, duty) as the port reads them back: rp2 and the ESP32's LEDC make the period a whole
        # number of clock counts, so at high frequencies both differ from what was asked (40 MHz
        # on a 125 MHz Pico runs at 41.67 MHz, and duty 0.5 at 0.6667).
        p = self._pwm
        if p is None:
            return self._freq, self._duty
        u = p.duty_u16()
        # One count off is the read-back's own rounding, not the pin's.
        return p.freq(), self._duty if abs(u - self._u16) <= 1 else round(u / 65535, 4)

    def resume(self):
        # rp2: another channel's deinit stopped this output's slice; writing the duty starts it.
        if self._pwm is not None:
            self._pwm.duty_u16(self._u16)

    def release(self):
        if self._pwm is not None:
            # Low first: rp2's deinit stops the slice where it is, and a partner's resume()
            # starts it again while this pin is still in its PWM function.
            self._pwm.duty_u16(0)
            self._pwm.deinit()
            self._pwm = None

    def _set(self, d, f):
        # x == x is false for NaN.
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not (d == d and 0 <= d <= 1):
            raise ValueError(text('pwm_duty_value', (d,)))
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not (f == f and 0 < f < _INF):
            raise ValueError(text('pwm_freq_value', (f,)))
        u16 = int(d * 65535 + 0.5)
        p = self._pwm
        if p is None:
            self._pwm = PWM(Pin(self._id), freq=int(f), duty_u16=u16)
        else:
            if f != self._freq:
                p.freq(int(f))
            # Set again after a frequency change: some ports rescale the duty with the period.
            p.duty_u16(u16)
        self._duty = d
        self._u16 = u16
        self._freq = f

# What differs between the ports behind the machine shim: PWM, ADC and I2C pins as MicroPython
# 1.27's rp2 and esp32 ports do them (ports/rp2/machine_pwm.c, machine_i2c.c, machine_adc.c;
# ports/esp32/machine_pwm.c, machine_adc.c, machine_i2c.c). simhw.port picks one ('rp2' unless a
# test calls use_port('esp32')); the state lives in simhw, so simhw.reset() clears it.
#   use_port(name)           the simulated port ('rp2' or 'esp32') until the next simhw.reset()
#   wave(pin)                (Hz, duty 0..1) the pin really puts out, or None: not what was asked
#   set_adc_volts(pin, v)    ESP32: the voltage on an ADC pin (read_u16 is the raw, uncalibrated
#                            reading at 11 dB; read_uv the calibrated one)
import simhw

ALT = 3  # machine.Pin.ALT: the pin's function is a peripheral's (here PWM)


def use_port(name):
    if name not in ('rp2', 'esp32'):
        raise ValueError('no simulated port %r' % (name,))
    simhw.port = name
    simhw.cpu_freq = 125000000 if name == 'rp2' else 160000000
    import network
    network.use_port(name)


def wave(pin):
    pid = simhw.pin_id(pin)
    if simhw.mode(pid) != ALT:
        return None
    return _rp2_wave(pid) if simhw.port == 'rp2' else _esp32_wave(pid)


def view(pin):
    # simhw.pwm(pin): (freq as the port reads it back, duty_u16 as last written) while it runs.
    pid = simhw.pin_id(pin)
    if simhw.mode(pid) != ALT:
        return None
    if simhw.port == 'rp2':
        s = _slice(pid)
        c = _chan(pid)
        return (_rp2_freq(s), c[1]) if s[3] and c[0] else None
    ch = simhw._pwm.get(('ch', pid))
    return None if ch is None else (_esp32_freq(_timer(ch[2])), ch[3] if ch[3] < 65536 else 65535)


# --- rp2 -----------------------------------------------------------------------------------
# Eight slices of two channels: GPn is slice (n >> 1) & 7, channel n & 1, so GPn and GPn+16 are
# one channel, and the two channels of a slice share its divider and TOP, hence its frequency.
# deinit() stops the slice (both channels); writing a duty starts it again.

_TOP_MAX = 65534


def _slice(pid):
    # [div16, top, freq set, enabled], as the slice's registers after reset
    return simhw._pwm.setdefault(('s', (pid >> 1) & 7), [16, 0xFFFF, False, False])


def _chan(pid):
    # [duty set, duty_u16 as written, compare level]
    return simhw._pwm.setdefault(('c', pid & 15), [False, 0, 0])


def _rp2_freq(s):
    if not s[2]:
        return 0
    d = s[0] * (s[1] + 1)
    return (16 * simhw.cpu_freq + d // 2) // d


def _rp2_wave(pid):
    s = _slice(pid)
    c = _chan(pid)
    if not (s[2] and s[3] and c[0]):
        return None
    return 16 * simhw.cpu_freq / (s[0] * (s[1] + 1)), min(c[2], s[1] + 1) / (s[1] + 1)


class Rp2PWM:
    def __init__(self, pid, freq=-1, duty_u16=-1, duty_ns=-1, invert=-1):
        if pid == 'LED':
            raise ValueError('expecting a Pin')  # the Pico W's LED is on the CYW43, not a GPIO
        self._pid = pid
        _chan(pid)[0] = False
        self.init(freq, duty_u16=duty_u16, duty_ns=duty_ns)
        simhw._pin(pid)[0] = ALT

    def init(self, freq=-1, duty_u16=-1, duty_ns=-1, invert=-1):
        if freq != -1:
            self._freq_set(freq)
        if duty_u16 != -1:
            self._duty_set(duty_u16, False)
        self._start()

    def _start(self):
        s = _slice(self._pid)
        if s[2] and _chan(self._pid)[0]:
            s[3] = True

    def freq(self, f=None):
        if f is None:
            return _rp2_freq(_slice(self._pid))
        self._freq_set(f)

    def _freq_set(self, f):
        if not isinstance(f, int) or isinstance(f, bool):
            raise TypeError("can't convert %s to int" % type(f).__name__)
        if f <= 0:
            raise ZeroDivisionError('machine_pwm.c divides by freq; the port never checks it')
        src = simhw.cpu_freq
        if (src + f // 2) // f < _TOP_MAX:
            div16 = 16
            top = (src + f // 2) // f - 1
        else:
            div16 = (16 * src + _TOP_MAX * f - 1) // (_TOP_MAX * f)
            top = (16 * src + div16 * f // 2) // (div16 * f) - 1
        if div16 < 16:
            raise ValueError('freq too large')
        if div16 >= 256 * 16:
            raise ValueError('freq too small')
        s = _slice(self._pid)
        s[0] = div16
        s[1] = top & 0xFFFF  # a 16-bit register: above twice the clock, TOP wraps to 65535
        s[2] = True
        # The duties of both channels are set again for the new TOP.
        for other in (self._pid & 14, (self._pid & 14) + 1):
            c = simhw._pwm.get(('c', other))
            if c is not None and c[0]:
                c[2] = _cc(c[1], s[1])

    def duty_u16(self, d=None):
        c = _chan(self._pid)
        s = _slice(self._pid)
        if d is None:
            if not (c[0] and s[2]):
                return 0
            return (c[2] * 65535 + (s[1] + 1) // 2) // (s[1] + 1)
        self._duty_set(d, True)

    def _duty_set(self, d, start):
        if not isinstance(d, int) or isinstance(d, bool):
            raise TypeError("can't convert %s to int" % type(d).__name__)
        if d < 0:
            raise ValueError('a negative duty_u16 gives the port a garbage compare level')
        d = min(d, 65535)
        c = _chan(self._pid)
        c[0] = True
        c[1] = d
        c[2] = _cc(d, _slice(self._pid)[1])
        if start:
            self._start()

    def duty_ns(self, ns=None):
        s = _slice(self._pid)
        hz = (16 * simhw.cpu_freq + s[0] // 2) // s[0]
        c = _chan(self._pid)
        if ns is None:
            return (c[2] * 1000000000 + hz // 2) // hz if c[0] and s[2] else 0
        c[0] = True
        c[2] = min((ns * hz + 500000000) // 1000000000, s[1] + 1)
        c[1] = (c[2] * 65535 + (s[1] + 1) // 2) // (s[1] + 1)
        self._start()

    def deinit(self):
        _slice(self._pid)[3] = False


def _cc(duty_u16, top):
    return (duty_u16 * (top + 1) + 65535 // 2) // 65535


# --- esp32 ---------------------------------------------------------------------------------
# LEDC (original ESP32): 2 speed modes x 8 channels, each mode 4 timers; a timer has one
# frequency and duty resolution, chosen as ESP-IDF does: log2(clock / freq) bits, at most 16.
# A pin gets a channel of its own; pins at one frequency share a timer.

_ESP32_MAX = 40000000


def _timer(k):
    return simhw._pwm.get(('t', k))  # [freq, resolution bits, divider (x256), source Hz] or None


def _esp32_freq(t):
    return (t[3] << 8) // (1 << t[1]) // t[2]


def _esp32_wave(pid):
    ch = simhw._pwm.get(('ch', pid))
    if ch is None:
        return None
    t = _timer(ch[2])
    return t[3] * 256 / (t[2] * (1 << t[1])), ch[4] / (1 << t[1])


def _channels():
    return [(k[1], v) for k, v in simhw._pwm.items() if k[0] == 'ch']


class Esp32PWM:
    def __init__(self, pid, freq=-1, duty_u16=-1, duty_ns=-1, invert=False):
        if not isinstance(pid, int):
            raise ValueError('invalid pin')
        self._pid = pid
        self.init(freq, duty_u16=duty_u16)

    def init(self, freq=-1, duty_u16=-1, duty_ns=-1, invert=False):
        if freq != -1:
            _check_freq(freq, _ESP32_MAX)
        ch = simhw._pwm.get(('ch', self._pid))
        if duty_u16 != -1:
            duty = _check_duty(duty_u16)
        elif ch is not None:
            duty = ch[3]
        else:
            duty = 32768  # the port's default duty
        if ch is None:
            mode = self._free_mode(freq)
            ch = [mode, 0, -1, duty, 0]
        if freq == -1:
            freq = _timer(ch[2])[0] if ch[2] >= 0 else 5000
        ch[3] = duty
        self._set(ch, freq)
        simhw._pin(self._pid)[0] = ALT

    def _free_mode(self, freq):
        used = _channels()
        for mode in (0, 1):
            if sum(1 for _, c in used if c[0] == mode) < 8 and any(
                    _timer(k) is None or _timer(k)[0] == freq for k in range(mode * 4, mode * 4 + 4)):
                return mode
        raise RuntimeError('out of PWM channels:16')

    def _set(self, ch, freq):
        # select_timer: a timer at this frequency, else its own if no other channel uses it, else a free one.
        others = [c for p, c in _channels() if p != self._pid]
        k = next((k for k in range(8) if _timer(k) is not None and _timer(k)[0] == freq), -1)
        if k < 0 and ch[2] >= 0 and not any(c[2] == ch[2] for c in others):
            k = ch[2]
        if k < 0:
            k = next((k for k in range(8) if _timer(k) is None), -1)
        if k < 0:
            raise RuntimeError('out of PWM timers:8')
        src = 1000000 if freq < 10 else 80000000  # REF_TICK below 10 Hz, else the APB clock
        _check_freq(freq, src // 2)
        res = min(_ilog2((src + freq // 2) // freq), 16)
        div = ((src << 8) + (freq << res) // 2) // (freq << res)
        simhw._pwm[('t', k)] = [freq, res, div, src]
        ch[0] = k // 4
        ch[2] = k
        ch[4] = ch[3] >> (16 - res)
        simhw._pwm[('ch', self._pid)] = ch

    def _ch(self):
        ch = simhw._pwm.get(('ch', self._pid))
        if ch is None:
            raise RuntimeError('PWM is inactive')
        return ch

    def freq(self, f=None):
        ch = self._ch()
        if f is None:
            return _esp32_freq(_timer(ch[2]))
        _check_freq(f, _ESP32_MAX)
        if f != _timer(ch[2])[0]:
            self._set(ch, f)

    def duty_u16(self, d=None):
        ch = self._ch()
        res = _timer(ch[2])[1]
        if d is None:
            v = ch[4] << (16 - res)
            return 65535 if v == 65536 else v
        ch[3] = _check_duty(d)
        ch[4] = ch[3] >> (16 - res)

    def deinit(self):
        ch = simhw._pwm.pop(('ch', self._pid), None)
        if ch is not None and not any(c[2] == ch[2] for _, c in _channels()):
            simhw._pwm.pop(('t', ch[2]), None)


def _ilog2(n):
    b = -1
    while n:
        n >>= 1
        b += 1
    return b


def _check_freq(f, top):
    if not isinstance(f, int) or isinstance(f, bool):
        raise TypeError("can't convert %s to int" % type(f).__name__)
    if f <= 0 or f > top:
        raise ValueError('frequency must be from 1Hz to %dMHz' % (top // 1000000))


def _check_duty(d):
    if not isinstance(d, int) or isinstance(d, bool):
        raise TypeError("can't convert %s to int" % type(d).__name__)
    if not 0 <= d <= 65535:
        raise ValueError('duty_u16 must be from 0 to 65536')
    return 65536 if d == 65535 else d


# --- ADC -----------------------------------------------------------------------------------

# ESP32: ADC1 (GPIO32-39) and ADC2 (0, 2, 4, 12-15, 25-27; unusable while WiFi runs).
_ESP32_ADC = (32, 33, 34, 35, 36, 37, 38, 39, 0, 2, 4, 12, 13, 14, 15, 25, 26, 27)


def esp32_adc_pin(pin):
    pid = simhw.pin_id(pin)
    if pid not in _ESP32_ADC:
        raise ValueError('invalid pin')
    return pid


def set_adc_volts(pin, v):
    simhw._adc[('v', esp32_adc_pin(pin))] = v


def esp32_raw12(pid):
    # At 11 dB (the port's default) the ESP32's raw reading starts near 0.14 V and bends over
    # to 4095 around 3.1 V (Espressif's ADC characteristics); only read_uv is calibrated.
    v = simhw._adc.get(('v', pid), 0.0)
    if v <= 0.14:
        return 0
    x = (v - 0.14) / 2.96
    raw = 4095 * (x - 0.08 * x * (x - 1))
    return max(0, min(4095, int(raw + 0.5)))


def esp32_uv(pid):
    return int(simhw._adc.get(('v', pid), 0.0) * 1000000)


# --- I2C pins ------------------------------------------------------------------------------

def i2c_pins(bus, scl, sda):
    # The port's own check of the pins given to I2C(bus, scl=, sda=). Returns whether the bus can
    # work: an ESP32 takes any pin and says nothing, but a bus on an input-only pin is silent.
    if bus not in (0, 1):
        raise ValueError("I2C(%d) doesn't exist" % bus)
    pins = [simhw.pin_id(p) for p in (scl, sda) if p is not None]
    if simhw.port == 'rp2':
        # ports/rp2/machine_i2c.h IS_VALID_SCL / IS_VALID_SDA
        if scl is not None and not (pins[0] & 1 == 1 and (pins[0] & 2) >> 1 == bus):
            raise ValueError('bad SCL pin')
        if sda is not None and not (pins[-1] & 1 == 0 and (pins[-1] & 2) >> 1 == bus):
            raise ValueError('bad SDA pin')
        return True
    return not any(p >= 34 for p in pins)

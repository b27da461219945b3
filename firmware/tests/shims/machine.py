# machine for tests: the API of MicroPython's rp2 port (Pico W) over the state in simhw.
import simhw
import simports

PWRON_RESET = 1
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


class Pin:
    IN = simhw.IN
    OUT = simhw.OUT
    OPEN_DRAIN = simhw.OPEN_DRAIN
    ALT = 3
    PULL_UP = simhw.PULL_UP
    PULL_DOWN = simhw.PULL_DOWN
    IRQ_FALLING = simhw.IRQ_FALLING
    IRQ_RISING = simhw.IRQ_RISING

    def __init__(self, id, mode=-1, pull=-1, value=None, **kw):
        self._id = simhw.pin_id(id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None, **kw):
        # -1 leaves a setting as it was (rp2); pull=None removes the pull.
        if mode not in (-1, None, Pin.IN, Pin.OUT, Pin.OPEN_DRAIN, Pin.ALT):
            raise ValueError('invalid pin mode: %r' % (mode,))
        p = simhw._pin(self._id)
        before = simhw.level(self._id)
        if value is not None:
            p[2] = 1 if value else 0
        if pull != -1:
            p[1] = pull or None
        if mode != -1 and mode is not None:
            p[0] = mode
            if mode == Pin.ALT:
                simhw._pwm.pop(self._id, None)
        simhw.changed(self._id, before)

    def value(self, v=None):
        if v is None:
            return simhw.level(self._id)
        p = simhw._pin(self._id)
        before = simhw.level(self._id)
        p[2] = 1 if v else 0
        simhw.changed(self._id, before)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def high(self):
        self.value(1)

    def low(self):
        self.value(0)

    def toggle(self):
        self.value(0 if simhw._pin(self._id)[2] else 1)

    def irq(self, *args, **kw):
        # rp2 (machine_pin_irq): with no arguments it only returns the IRQ object; with any, it
        # reconfigures the IRQ (handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False) and
        # clears its flags; a handler of None disables it.
        if args or kw:
            names = ('handler', 'trigger', 'hard')
            a = dict(zip(names, args))
            a.update(kw)
            self._set_irq(a.get('handler'), a.get('trigger', Pin.IRQ_FALLING | Pin.IRQ_RISING), a.get('hard', False))
        return _Irq(self._id)

    def _set_irq(self, handler, trigger, hard):
        simhw._irq_flags.pop(self._id, None)
        if handler is None:
            simhw._irqs.pop(self._id, None)
        else:
            simhw._irqs[self._id] = (handler, trigger, self, hard)

    def __repr__(self):
        return 'Pin(%s)' % (repr(self._id) if isinstance(self._id, str) else 'GPIO%d' % self._id)


class _Irq:
    def __init__(self, pid):
        self._id = pid

    def flags(self):
        # The edges the last GPIO interrupt of this pin found (simhw.edge), not the level now.
        return simhw.irq_flags(self._id)

    def trigger(self):
        irq = simhw._irqs.get(self._id)
        return 0 if irq is None else irq[1]


class Signal:
    def __init__(self, pin, invert=False):
        self._pin = pin
        self._invert = invert

    def value(self, v=None):
        if v is None:
            return self._pin.value() ^ (1 if self._invert else 0)
        self._pin.value((1 if v else 0) ^ (1 if self._invert else 0))

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def _as_pin(pin):
    return pin if isinstance(pin, Pin) else Pin(pin)


class PWM:
    # The simulated port's PWM (simports: rp2 slices, or the ESP32's LEDC timers and channels).
    def __init__(self, pin, freq=-1, duty_u16=-1, duty_ns=-1, invert=-1):
        pid = _as_pin(pin)._id
        if simhw.port == 'rp2':
            self._p = simports.Rp2PWM(pid, freq, duty_u16, duty_ns, invert)
        else:
            self._p = simports.Esp32PWM(pid, freq, duty_u16, duty_ns, invert)

    def init(self, freq=-1, duty_u16=-1, duty_ns=-1, invert=-1):
        self._p.init(freq, duty_u16=duty_u16, duty_ns=duty_ns)

    def freq(self, f=None):
        return self._p.freq(f)

    def duty_u16(self, d=None):
        return self._p.duty_u16(d)

    def duty_ns(self, ns=None):
        return self._p.duty_ns(ns)

    def deinit(self):
        self._p.deinit()


class ADC:
    CORE_TEMP = simhw.TEMP_CHANNEL

    def __init__(self, pin, atten=-1):
        # rp2: a channel number 0-4 or an ADC pin (GP26-29); esp32: an ADC1/ADC2 pin, read at
        # 11 dB unless atten says otherwise, with read_uv (calibrated) as well as read_u16.
        if simhw.port == 'rp2':
            self._channel = simhw.adc_channel(pin)
        else:
            self._pid = simports.esp32_adc_pin(pin)
            self.read_uv = self._read_uv

    def read_u16(self):
        if simhw.port == 'rp2':
            return simhw.adc(self._channel)
        raw = simports.esp32_raw12(self._pid)
        return raw * 65535 // 4095

    def _read_uv(self):
        return simports.esp32_uv(self._pid)


class I2C:
    def __init__(self, id, scl=None, sda=None, freq=400000, timeout=50000):
        self._live = simports.i2c_pins(id, scl, sda)
        self._bus = id
        self._freq = freq

    def __repr__(self):
        return 'I2C(%d, freq=%d)' % (self._bus, self._freq)

    def init(self, scl=None, sda=None, freq=400000, timeout=50000):
        self._live = simports.i2c_pins(self._bus, scl, sda)
        self._freq = freq

    def deinit(self):
        pass

    def _wire(self):
        return self._bus if self._live else -1  # a silent bus: no chip answers

    def scan(self):
        return simhw.i2c_addresses(self._bus) if self._live else []

    def writeto(self, addr, buf, stop=True):
        simhw.i2c_write(self._wire(), addr, buf)
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b''.join(bytes(b) for b in vector)
        simhw.i2c_write(self._wire(), addr, data)
        return len(data)

    def readfrom(self, addr, nbytes, stop=True):
        return simhw.i2c_read(self._wire(), addr, nbytes)

    def readfrom_into(self, addr, buf, stop=True):
        data = simhw.i2c_read(self._wire(), addr, len(buf))
        for i in range(len(buf)):
            buf[i] = data[i]

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        simhw.i2c_write(self._wire(), addr, _mem(memaddr, addrsize) + bytes(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        simhw.i2c_write(self._wire(), addr, _mem(memaddr, addrsize))
        return simhw.i2c_read(self._wire(), addr, nbytes)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        simhw.i2c_write(self._wire(), addr, _mem(memaddr, addrsize))
        self.readfrom_into(addr, buf)


def _mem(memaddr, addrsize):
    n = addrsize // 8
    return bytes([(memaddr >> (8 * (n - 1 - i))) & 0xFF for i in range(n)])


class WDT:
    # rp2 (machine_wdt.c): at most 8388 ms; once started only a reset stops it, short of its
    # control register (mem32 below), and a new WDT() enables it again, counting afresh. ESP32:
    # the task watchdog, any length; a new WDT() sets its timeout anew. Time runs while the event
    # loop is blocked: a feed later than the timeout finds the board already reset
    # (simhw.wdt_expired).
    def __init__(self, id=0, timeout=5000):
        if id != 0:
            raise ValueError("WDT(%d) doesn't exist" % id)
        if simhw.port == 'rp2' and timeout > 8388:
            raise ValueError('timeout exceeds 8388')  # a 24-bit counter ticking at 2 MHz (RP2040-E1)
        simhw.wdt = {'timeout': timeout, 'feeds': 0, 'fed_at': simhw.now_ms(), 'enabled': True}

    def feed(self):
        simhw.wdt_expired()
        simhw.wdt['feeds'] += 1
        simhw.wdt['fed_at'] = simhw.now_ms()


class _Mem32:
    # Only the RP2040 watchdog's CTRL register (datasheet §4.7.6): bit 30 enables it.
    CTRL = 0x40058000

    def __getitem__(self, addr):
        self._check(addr)
        on = simhw.wdt is not None and simhw.wdt['enabled']
        return (1 << 30) if on else 0

    def __setitem__(self, addr, value):
        self._check(addr)
        if simhw.wdt is not None:
            simhw.wdt['enabled'] = bool(value & (1 << 30))

    def _check(self, addr):
        if addr != self.CTRL:
            raise AssertionError('the mem32 shim models only the watchdog CTRL register, not 0x%08x' % addr)


mem32 = _Mem32()


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, mode=PERIODIC, period=-1, freq=-1, callback=None):
        self._cb = None
        self._mode = mode
        if callback is not None:
            self.init(mode=mode, period=period, freq=freq, callback=callback)

    def init(self, mode=PERIODIC, period=-1, freq=-1, callback=None):
        self.deinit()
        self._mode = mode
        self._period = period
        self._cb = callback
        simhw.timer_add(self)

    def deinit(self):
        simhw.timer_remove(self)


def unique_id():
    return b'\xe6\x61\x41\x04\x03\x2f\x4b\x2a'


def freq(hz=None):
    if hz is None:
        return simhw.cpu_freq
    simhw.cpu_freq = hz


def reset():
    simhw.record('reset')
    raise SystemExit('machine.reset')


def soft_reset():
    simhw.record('soft_reset')
    raise SystemExit('machine.soft_reset')


def reset_cause():
    return simhw.reset_cause


def lightsleep(ms=None):
    simhw.record('lightsleep', ms)


def deepsleep(ms=None):
    # rp2 (ports/rp2/modmachine.c): the wake-up alarm counts microseconds in 32 bits.
    if ms is not None and ms >= (1 << 32) // 1000:
        raise ValueError('sleep too long')
    simhw.record('deepsleep', ms)


def idle():
    pass


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def bootloader():
    simhw.record('bootloader')
    raise SystemExit('machine.bootloader')

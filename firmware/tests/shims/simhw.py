# The simulated Pico W behind the shims (machine, network, onewire, ds18x20, dht, rp2): what a
# test sets and inspects. Every piece of state lives here, so reset() gives the next test a
# fresh board; the shim objects (Pin, I2C, WLAN...) hold only ids into it.
#   pins   level(pin), mode(pin), pull(pin), drive(pin, level|None) -> IRQs, glitch(pin),
#          run_soft_irqs(), pwm(pin)
#   ADC    set_adc(pin_or_channel, raw_u16), set_chip_temp(celsius), adc(channel)
#   I2C    attach(bus, chip), detach(bus, address), chip(bus, address), transfers = [] to log
#   1-Wire add_ds18b20(pin, rom|serial, temp_c) -> device, remove_ds18b20(pin, rom), ds18b20_rom()
#   DHT22  set_dht22(pin, temperature, humidity, fault=None|'timeout'|'checksum'), dht_reads(pin)
#   WLAN   wifi(ssid=, key=, present=, rssi=, polls=, ip=), wifi_drop(status), wifi_state()
#   time   manual_clock(), advance(ms), advance_us(us), now_ms(), now_us() (chips' timings)
#   calls  ('reset',), ('lightsleep', ms), ('deepsleep', ms), ('wdt_reset', ms)...; reset_cause,
#          wdt, wdt_expired(), fire_timers()
import sys
import time

# Pin modes and pulls, with machine.Pin's values (rp2).
IN = 0
OUT = 1
OPEN_DRAIN = 2
PULL_UP = 1
PULL_DOWN = 2
IRQ_FALLING = 4
IRQ_RISING = 8

PIN_COUNT = 30
ADC_PIN_BASE = 26
TEMP_CHANNEL = 4
# cyw43 link states as network.WLAN.status() reports them on a Pico W.
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 3
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3


def reset():
    global _manual, _now, transfers, reset_cause, wdt, cpu_freq, country, port
    _pins.clear()
    _irqs.clear()
    _irq_flags.clear()
    del _sched[:]
    _pwm.clear()
    _adc.clear()
    _i2c.clear()
    _onewire.clear()
    _dht.clear()
    _timers.clear()
    calls.clear()
    _wifi.clear()
    _wifi.update(_WIFI_DEFAULTS)
    _sta.clear()
    _sta.update(_STA_DEFAULTS)
    _manual = False
    _now = 0
    transfers = None
    reset_cause = 1
    wdt = None
    cpu_freq = 125000000
    country = 'XX'
    port = 'rp2'  # simports.use_port('esp32') makes PWM, ADC, I2C and WLAN status the ESP32's
    net = sys.modules.get('network')
    if net is not None and hasattr(net, 'use_port'):
        net.use_port('rp2')


# --- time ---------------------------------------------------------------------------------
# Chips with conversion times (AHT10) ask now_ms() or now_us(). A test that wants exact timings
# switches to the manual clock (in microseconds, so that a wait can fall short of a whole ms)
# and moves it with advance(); otherwise it follows time.ticks_ms()/ticks_us().

def now_ms():
    return _now // 1000 if _manual else time.ticks_ms()


def now_us():
    return _now if _manual else time.ticks_us()


def manual_clock(on=True):
    global _manual, _now
    _manual = on
    _now = 0


def advance(ms):
    advance_us(ms * 1000)


def advance_us(us):
    global _now
    _now += int(us)


def since(t0):
    return time.ticks_diff(now_ms(), t0)


def since_us(t0):
    return time.ticks_diff(now_us(), t0)


# --- pins ---------------------------------------------------------------------------------

def pin_id(pin):
    # Pin ids as rp2 accepts them: GPIO numbers, 'GPn' names and the Pico W's 'LED' (on the CYW43).
    if isinstance(pin, str):
        if pin == 'LED' or pin == 'WL_GPIO0':
            return 'LED'
        if pin.startswith('GP') and pin[2:].isdigit():
            pin = int(pin[2:])
        else:
            raise ValueError('unknown named pin %r' % pin)
    if not isinstance(pin, int) or isinstance(pin, bool):
        pid = getattr(pin, '_id', None)
        if pid is None:
            raise TypeError('a pin is an int, a name or a Pin, not %r' % (pin,))
        return pid
    if not 0 <= pin < (PIN_COUNT if port == 'rp2' else 40):
        raise ValueError('invalid pin')
    return pin


def _pin(pid):
    p = _pins.get(pid)
    if p is None:
        # [mode, pull, output value, external level]; mode None = never set up
        p = [None, None, 0, None]
        _pins[pid] = p
    return p


def _level(pin):
    # What a voltmeter on the pin would read: an output drives it, otherwise whatever drive()
    # put on it, otherwise its pull (no pull reads 0, as the TS simulator does).
    p = _pin(pin_id(pin))
    mode, pull, out, ext = p
    if mode == OUT:
        return out
    if mode == OPEN_DRAIN and out == 0:
        return 0
    if ext is not None:
        return ext
    return 1 if pull == PULL_UP else 0


level = _level


def mode(pin):
    return _pin(pin_id(pin))[0]


def pull(pin):
    return _pin(pin_id(pin))[1]


def drive(pin, level):
    # The outside world puts a level on a pin (None lets go of it). An edge that a pin's IRQ
    # triggers on runs its GPIO interrupt at once; the handler itself runs as rp2 runs it (below).
    pid = pin_id(pin)
    before = _level(pid)
    _pin(pid)[3] = None if level is None else (1 if level else 0)
    changed(pid, before)


def glitch(pin):
    # A pulse shorter than the GPIO interrupt's latency: the level goes over and back before the
    # interrupt runs, which finds both edges latched (flags() == IRQ_RISING | IRQ_FALLING).
    edge(pin_id(pin), IRQ_RISING | IRQ_FALLING)


def changed(pid, before):
    after = _level(pid)
    if after != before:
        edge(pid, IRQ_RISING if after else IRQ_FALLING)


# IRQs as rp2 runs them (ports/rp2/machine_pin.c gpio_irq, py/scheduler.c): the GPIO interrupt
# sets the pin's flags to the edges it found latched, overwriting the last ones, then a hard
# handler runs at once and a soft one (the default) is scheduled. Scheduled handlers run later,
# when the VM gets to them (here: once the code under test yields to the event loop, or at
# run_soft_irqs()), so the level a handler reads is the level then and flags() the latest
# edge's. At most SCHED_DEPTH wait at once (MICROPY_SCHEDULER_DEPTH on rp2); more are lost.
SCHED_DEPTH = 8


def edge(pid, edges):
    irq = _irqs.get(pid)
    if irq is None or not edges & irq[1]:
        return
    handler, trigger, obj, hard = irq
    _irq_flags[pid] = edges & trigger
    if hard:
        handler(obj)
        return
    if len(_sched) >= SCHED_DEPTH:
        return
    _sched.append((handler, obj))
    if len(_sched) == 1:
        _run_later()


def irq_flags(pid):
    return _irq_flags.get(pid, 0)


def run_soft_irqs():
    # As mp_sched_run_pending: every handler waiting runs; one that raises is printed.
    while _sched:
        handler, obj = _sched.pop(0)
        try:
            handler(obj)
        except Exception as e:
            print('Uncaught exception in IRQ callback handler:', repr(e))


def _run_later():
    import asyncio
    import sys
    if sys.implementation.name == 'micropython':
        async def run():
            run_soft_irqs()
        asyncio.create_task(run())
        return
    try:
        asyncio.get_running_loop().call_soon(run_soft_irqs)
    except RuntimeError:
        pass  # no event loop: the test calls run_soft_irqs()


def pwm(pin):
    # (freq as the port reads it back, duty_u16 as last written) of a running PWM output, or
    # None; simports.wave(pin) gives what the pin really puts out.
    import simports
    return simports.view(pin)


# --- ADC ----------------------------------------------------------------------------------

def adc_channel(pin_or_channel):
    c = pin_or_channel
    if not isinstance(c, int):
        c = pin_id(c)
    if ADC_PIN_BASE <= c <= ADC_PIN_BASE + 3:
        return c - ADC_PIN_BASE
    if 0 <= c <= TEMP_CHANNEL:
        return c
    raise ValueError("Pin doesn't have ADC capabilities")


def set_adc(pin_or_channel, raw):
    _adc[adc_channel(pin_or_channel)] = max(0, min(65535, int(raw)))


def set_chip_temp(celsius, vref=3.3):
    # The raw reading an RP2040 gives at this temperature: its sensor's line, then a 12-bit
    # conversion scaled to u16 as read_u16() does (same as the TS SimAdc).
    v = 0.706 - (celsius - 27) * 0.001721
    raw12 = max(0, min(4095, int(v / vref * 4095 + 0.5)))
    _adc[TEMP_CHANNEL] = (raw12 << 4) | (raw12 >> 8)


def adc(channel):
    raw = _adc.get(channel)
    if raw is None:
        if channel != TEMP_CHANNEL:
            return 0
        set_chip_temp(25)
        raw = _adc[TEMP_CHANNEL]
    return raw


# --- I2C ----------------------------------------------------------------------------------
# A chip is any object with .address, .write(bytes) and .read(n) -> n bytes (simchips.py).
# Set `simhw.transfers = []` to record (bus, 'write'|'read', address, bytes) of every transfer.

def attach(bus_id, chip):
    bus = _i2c.setdefault(bus_id, {})
    other = bus.get(chip.address)
    if other is not None and other is not chip:
        raise ValueError('another chip already answers at 0x%02x on simulated I2C bus %d' % (chip.address, bus_id))
    bus[chip.address] = chip
    return chip


def detach(bus_id, address):
    return _i2c.get(bus_id, {}).pop(address, None)


def chip(bus_id, address):
    return _i2c.get(bus_id, {}).get(address)


def i2c_addresses(bus_id):
    return sorted(_i2c.get(bus_id, {}))


def i2c_write(bus_id, address, data):
    c = _i2c_chip(bus_id, address)
    data = bytes(data)
    c.write(data)
    if transfers is not None:
        transfers.append((bus_id, 'write', address, data))


def i2c_read(bus_id, address, n):
    c = _i2c_chip(bus_id, address)
    data = bytes(c.read(n))
    if len(data) != n:
        raise AssertionError('simulated chip at 0x%02x returned %d bytes for a %d-byte read' % (address, len(data), n))
    if transfers is not None:
        transfers.append((bus_id, 'read', address, data))
    return data


def _i2c_chip(bus_id, address):
    c = _i2c.get(bus_id, {}).get(address)
    if c is None:
        raise OSError(5)  # EIO: nobody acknowledged the address (rp2)
    return c


# --- 1-Wire -------------------------------------------------------------------------------
# A bus per pin, modelled bit by bit so that MicroPython's own ROM search and CRC checks run.

def crc8(data):
    # Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1, reflected); 0 over a block that ends in its CRC.
    crc = 0
    for b in data:
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc


class DS18B20:
    # One sensor: set .temperature; .stuck_85 leaves the power-on 85 °C in the scratchpad (a
    # conversion that never ran: parasite power without a strong pull-up); .bad_crc corrupts
    # the scratchpad's CRC byte as a noisy line would.
    def __init__(self, rom, temperature):
        self.rom = bytes(rom)
        self.temperature = temperature
        self.stuck_85 = False
        self.bad_crc = False
        self.conversions = 0
        # Power-on scratchpad (datasheet): 85 °C, TH 75, TL 70, 12-bit, reserved, CRC.
        self.scratch = bytearray(b'\x50\x05\x4b\x46\x7f\xff\x0c\x10\x00')
        self.scratch[8] = crc8(self.scratch[:8])

    def convert(self):
        self.conversions += 1
        if self.stuck_85:
            return
        raw = int(self.temperature * 16 + (0.5 if self.temperature >= 0 else -0.5))
        raw = max(-55 * 16, min(125 * 16, raw)) & 0xFFFF
        self.scratch[0] = raw & 0xFF
        self.scratch[1] = raw >> 8
        self.scratch[8] = crc8(self.scratch[:8])

    def scratchpad(self):
        out = bytes(self.scratch)
        if self.bad_crc:
            out = out[:8] + bytes([out[8] ^ 0x5A])
        return out


def ds18b20_rom(serial, family=0x28):
    # A 64-bit ROM code from a 48-bit serial number: family, serial (LSB first), CRC.
    rom = bytearray(8)
    rom[0] = family
    for i in range(6):
        rom[1 + i] = (serial >> (8 * i)) & 0xFF
    rom[7] = crc8(rom[:7])
    return bytes(rom)


def add_ds18b20(pin, rom, temp_c):
    # rom: 8 bytes, or an int serial number (see ds18b20_rom). Returns the device.
    if isinstance(rom, int):
        rom = ds18b20_rom(rom)
    dev = DS18B20(rom, temp_c)
    _ow_bus(pin_id(pin)).devices.append(dev)
    return dev


def remove_ds18b20(pin, rom):
    bus = _ow_bus(pin_id(pin))
    bus.devices = [d for d in bus.devices if d.rom != bytes(rom)]


class _OneWireBus:
    def __init__(self):
        self.devices = []
        self.reset()

    def reset(self):
        self.state = 'rom'
        self.selected = []
        self.inbits = 0
        self.inbyte = 0
        self.out = b''
        self.outbit = 0
        self.arg = bytearray()
        return len(self.devices) > 0

    def write_bit(self, b):
        if self.state == 'search':
            return self._search_write(b)
        self.inbyte |= (1 if b else 0) << self.inbits
        self.inbits += 1
        if self.inbits == 8:
            byte = self.inbyte
            self.inbits = 0
            self.inbyte = 0
            self._byte(byte)

    def read_bit(self):
        if self.state == 'search':
            return self._search_read()
        i = self.outbit
        if i >= 8 * len(self.out):
            return 1  # nobody pulls the line low: the pull-up reads 1
        self.outbit += 1
        return (self.out[i >> 3] >> (i & 7)) & 1

    def _byte(self, b):
        st = self.state
        if st == 'rom':
            if b == 0xCC:  # SKIP ROM
                self.selected = list(self.devices)
                self.state = 'func'
            elif b == 0x55:  # MATCH ROM
                self.arg = bytearray()
                self.state = 'match'
            elif b == 0x33:  # READ ROM: only meaningful with one device
                self._send([d.rom for d in self.devices])
                self.state = 'idle'
            elif b == 0xF0:  # SEARCH ROM
                self.selected = list(self.devices)
                self.bit = 0
                self.phase = 0
                self.state = 'search'
            else:
                self.state = 'idle'
        elif st == 'match':
            self.arg.append(b)
            if len(self.arg) == 8:
                self.selected = [d for d in self.devices if d.rom == bytes(self.arg)]
                self.state = 'func'
        elif st == 'func':
            if b == 0x44:  # CONVERT T
                for d in self.selected:
                    d.convert()
                self.state = 'idle'
            elif b == 0xBE:  # READ SCRATCHPAD
                self._send([d.scratchpad() for d in self.selected])
                self.state = 'idle'
            elif b == 0x4E:  # WRITE SCRATCHPAD: TH, TL, config
                self.arg = bytearray()
                self.state = 'write'
            else:
                self.state = 'idle'
        elif st == 'write':
            self.arg.append(b)
            if len(self.arg) == 3:
                for d in self.selected:
                    d.scratch[2:5] = self.arg
                    d.scratch[8] = crc8(d.scratch[:8])
                self.state = 'idle'

    def _send(self, blocks):
        # Several devices answering at once: the open-drain line is the AND of their bits.
        if not blocks:
            self.out = b''
        else:
            out = bytearray(blocks[0])
            for blk in blocks[1:]:
                for i in range(len(out)):
                    out[i] &= blk[i]
            self.out = bytes(out)
        self.outbit = 0

    def _rom_bit(self, d):
        return (d.rom[self.bit >> 3] >> (self.bit & 7)) & 1

    def _search_read(self):
        # Each ROM bit is read twice, the bit then its complement, from every device still in;
        # the line is the AND of them (1 when nobody is left).
        comp = self.phase == 1
        self.phase += 1
        v = 1
        for d in self.selected:
            v &= self._rom_bit(d) ^ (1 if comp else 0)
        return v

    def _search_write(self, b):
        self.selected = [d for d in self.selected if self._rom_bit(d) == (1 if b else 0)]
        self.bit += 1
        self.phase = 0
        if self.bit == 64:
            self.state = 'idle'


def _ow_bus(pid):
    bus = _onewire.get(pid)
    if bus is None:
        bus = _OneWireBus()
        _onewire[pid] = bus
    return bus


def ow_bus(pin):
    return _ow_bus(pin_id(pin))


# --- DHT22 --------------------------------------------------------------------------------

def set_dht22(pin, temperature=None, humidity=None, fault=None):
    # fault: 'timeout' (no answer: OSError ETIMEDOUT) or 'checksum' (a corrupted 5th byte).
    # set_dht22(pin) with nothing else removes the sensor (reads then time out).
    pid = pin_id(pin)
    if temperature is None and fault is None:
        _dht.pop(pid, None)
    else:
        _dht[pid] = [temperature, humidity, fault, 0]


def dht_reads(pin):
    d = _dht.get(pin_id(pin))
    return 0 if d is None else d[3]


def dht_readinto(pin, buf):
    d = _dht.get(pin_id(pin))
    if d is None or d[2] == 'timeout':
        raise OSError(110)  # ETIMEDOUT, as MicroPython's dht_readinto
    d[3] += 1
    t, h, fault = d[0], d[1], d[2]
    hum = int(h * 10 + 0.5)
    tem = int(abs(t) * 10 + 0.5) | (0x8000 if t < 0 else 0)
    buf[0] = hum >> 8
    buf[1] = hum & 0xFF
    buf[2] = tem >> 8
    buf[3] = tem & 0xFF
    buf[4] = (buf[0] + buf[1] + buf[2] + buf[3]) & 0xFF
    if fault == 'checksum':
        buf[4] ^= 0x01


# --- WLAN ---------------------------------------------------------------------------------

def wifi(ssid='tether-lab', key='tether-pass', present=True, rssi=-55, polls=2, ip='192.168.4.23',
         netmask='255.255.255.0', gateway='192.168.4.1', dns='192.168.4.1'):
    # The access point in range. polls: how many status()/isconnected() calls after connect()
    # the link takes to come up (0 = at once).
    _wifi.update({'ssid': ssid, 'key': key, 'present': present, 'rssi': rssi, 'polls': polls,
                  'ip': (ip, netmask, gateway, dns)})


def wifi_join_fails(*errnos):
    # The next connect() calls raise OSError with these errnos, one each: cyw43_wifi_join fails
    # (the chip busy or wedged, -EIO) and network_cyw43.c raises mp_raise_OSError(-ret).
    _sta['join_errors'] = list(errnos)


def wifi_drop(status=STAT_IDLE):
    # The link goes down (the AP rebooted, the board moved out of range).
    _sta['status'] = status
    _sta['pending'] = None


def wifi_state():
    # The station's state as a copy: active, status, ssid, key, hostname, static ifconfig.
    return dict(_sta)


def sta_poll():
    # One status query on a connecting station; the link comes up after `polls` of them.
    s = _sta
    if s['status'] == STAT_CONNECTING and s['pending'] is not None:
        if s['pending'] > 0:
            s['pending'] -= 1
        if s['pending'] == 0:
            s['pending'] = None
            w = _wifi
            if not w['present'] or s['ssid'] != w['ssid']:
                s['status'] = STAT_NO_AP_FOUND
            elif s['key'] != w['key']:
                s['status'] = STAT_WRONG_PASSWORD
            else:
                s['status'] = STAT_GOT_IP
    return s['status']


# --- machine-level calls ------------------------------------------------------------------

def record(*call):
    # machine.reset(), soft_reset(), lightsleep(ms), deepsleep(ms), WDT feeds: ('reset',), ...
    calls.append(call)


def wdt_expired():
    # The watchdog resets the board when it is not fed within its timeout. Checked when it is
    # fed (and by tests): a late feed finds the reset already done, recorded as ('wdt_reset', ms
    # since the last feed) and raised as SystemExit, as machine.reset() is.
    global reset_cause
    w = wdt
    if w is None or not w['enabled']:
        return False
    late = since(w['fed_at'])
    if late <= w['timeout']:
        return False
    w['enabled'] = False
    reset_cause = 3  # machine.WDT_RESET
    record('wdt_reset', late)
    raise SystemExit('machine.WDT: not fed for %d ms (timeout %d ms)' % (late, w['timeout']))


def _timer_ref(t):
    # A port's timer list does not keep a Timer object alive: rp2's Timer has a finaliser, so
    # one nothing else refers to is collected and stops. Under CPython the list holds weak
    # references to show that; MicroPython has no weakref, so there it keeps them (the tests
    # that need the truth run under CPython).
    try:
        import weakref
        return weakref.ref(t)
    except ImportError:
        return lambda: t


def timer_add(t):
    _timers.append(_timer_ref(t))


def timer_remove(t):
    for r in list(_timers):
        if r() is t or r() is None:
            _timers.remove(r)


def live_timers():
    # The armed timers that still exist (none collected).
    return [t for t in (r() for r in _timers) if t is not None]


def fire_timers():
    # Runs every live machine.Timer callback once (periodic ones stay; one-shots are removed).
    for t in live_timers():
        cb = t._cb
        if t._mode == 0:
            timer_remove(t)
        if cb is not None:
            cb(t)


_pins = {}
_irqs = {}  # pin -> (handler, trigger, Pin, hard)
_irq_flags = {}
_sched = []
_pwm = {}
_adc = {}
_i2c = {}
_onewire = {}
_dht = {}
_timers = []
calls = []
_WIFI_DEFAULTS = {'ssid': 'tether-lab', 'key': 'tether-pass', 'present': True, 'rssi': -55, 'polls': 2,
                  'ip': ('192.168.4.23', '255.255.255.0', '192.168.4.1', '192.168.4.1')}
_wifi = {}
_STA_DEFAULTS = {'active': False, 'status': STAT_IDLE, 'ssid': None, 'key': None, 'pending': None,
                 'hostname': 'PicoW', 'static': None, 'pm': 0xA11142, 'country_at_up': None, 'join_errors': []}
_sta = {}
reset()  # also sets the scalar state (_manual, _now, transfers, reset_cause, wdt, cpu_freq, country, port)

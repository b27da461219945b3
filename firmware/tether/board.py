# The board: pins, leases, sensors and edge watches over MicroPython's machine module. The
# dispatcher calls these methods; nothing here knows about sockets or JSON (docs/protocol.md §4–§5).
# The occasional actions (setup_pin, read_adc, i2c_scan, list_sensors, get_info) work on the board
# from tether/extras.py, which is in RAM only while one runs.
import asyncio
from machine import Pin
from tether.errors import ProtoError, say, text
from tether.leases import Leases
from tether import drivers
from tether.boards import check_pwm

_PULLS = {'up': Pin.PULL_UP, 'down': Pin.PULL_DOWN}
# Set by an IRQ, waited on by the edge task; CPython's shims drive IRQs from the loop itself.
_Flag = getattr(asyncio, 'ThreadSafeFlag', None) or asyncio.Event
# An IRQ ring entry's second byte: the edges rp2's flags() gave, or _LEVEL | the level read.
_EDGES = Pin.IRQ_RISING | Pin.IRQ_FALLING
_LEVEL = 0x80
# Sensors that did not start are tried again 1 s later, then twice as long each time up to 60 s.
_RETRY_FIRST_MS = 1000
_RETRY_MAX_MS = 60000


class Slot:
    # One set-up pin. mode: 'input', 'output' or 'pwm'; act: the actuator driving an output.
    def __init__(self, pin, name, mode, fixed=False):
        self.pin = pin
        self.name = name
        self.mode = mode
        self.fixed = fixed
        self.pull = 'none'
        self.hw = None
        self.act = None
        self.safe = 0
        self.max_lease = 0
        self.active_low = False


class SensorEntry:
    def __init__(self, cfg, mod, sensor, address):
        self.cfg = cfg
        self.mod = mod
        self.sensor = sensor
        self.address = address  # the I2C address in use (the driver's default when not configured)
        self.inflight = None  # [event, values, error] of the read in progress
        self.fault = None  # a ProtoError while the sensor has not started (Board.sensor_down)


class Board:
    def __init__(self, cfg, clock, support):
        self.cfg = cfg
        self.clock = clock
        self.support = support
        self.pins = {}
        self.reserved = {}  # pin -> (line, bus) of a declared I2C bus
        self.sensors = {}
        self.sensor_names = []
        self.buses = {}
        self.adcs = {}
        self.listeners = []
        self.reset_listeners = []
        self.watchers = {}  # pin -> [Pin, last level, [(edge, callback)]]
        self.leases = Leases(clock, self._expire)
        self.led = None  # the status Led (tether/app.py), which lets go of its pin when a config takes it
        self.boot_id = None  # set by tether/start.py
        self.boot_at = clock.now()
        self.sleep_until = 0
        self.reset_timer = None
        self._flag = _Flag()
        self._ring = bytearray(64)  # (pin, level) pairs written by IRQs, read by the edge task
        self._head = 0
        self._tail = 0
        self.restart = None  # set by the app: what a reset or deep sleep finally does
        self.sensors_down = 0  # sensors that have not started; the retry task runs while any
        self._retry = None
        for b in cfg['i2c']:
            if b.get('sda') is not None:
                self.reserved[b['sda']] = ('SDA', b['bus'])
            if b.get('scl') is not None:
                self.reserved[b['scl']] = ('SCL', b['bus'])

    def run(self):
        # Once set up (tether/start.py): edges from the IRQ ring go out from a task of their own.
        asyncio.create_task(self._edges())

    def uptime_ms(self):
        return self.clock.now() - self.boot_at

    def emit(self, event):
        for listener in self.listeners:
            listener.emit(event)

    # --- pins ---------------------------------------------------------------------------

    def read_pin(self, pin):
        slot = self._slot(pin)
        if slot.mode == 'input':
            return slot.hw.value()
        if slot.mode == 'pwm':
            raise ProtoError('pin_conflict', 'read_pwm_pin', pin)
        return 1 if slot.act.current() == 1 else 0

    def write_pin(self, pin, value, timeout):
        slot = self._slot(pin)
        if slot.mode == 'input':
            raise ProtoError('pin_conflict', 'write_input_pin', pin)
        if slot.mode == 'pwm':
            raise ProtoError('pin_conflict', 'write_pwm_pin', pin)
        self._check_lease(pin, value, slot.safe, slot.max_lease, timeout)
        slot.act.apply(value)
        return self._lease(slot, value, timeout)

    def pwm(self, pin, freq, duty, timeout):
        # Results: the lease, and the frequency and duty the pin runs at as the port reads them
        # back (they differ from the request where the hardware rounds them).
        self._configurable(pin)
        self.support.check_pin(pin, 'pwm')
        slot = self.pins.get(pin)
        if slot is not None and slot.mode == 'input':
            raise ProtoError('pin_conflict', 'pwm_input_pin', pin)
        if slot is not None and slot.mode == 'output':
            if slot.fixed:
                raise ProtoError('pin_conflict', 'pwm_digital_actuator', pin, slot.name)
            self._no_lease(slot)
        # A digital output turned to PWM keeps its safe level (as duty 0 or 1), name and maximum lease.
        safe = slot.safe if slot else 0
        max_lease = slot.max_lease if slot else self._max_lease(pin)
        check_pwm(self.support, pin, freq, [(s.pin, s.act.frequency()) for s in self.pins.values() if s.mode == 'pwm' and s.pin != pin])
        self._check_lease(pin, duty, safe, max_lease, timeout)
        try:
            if slot is None or slot.mode != 'pwm':
                self._release(slot)
                slot = self._setup_output(pin, slot.name if slot else None, False, 'pwm', {'freq': freq}, safe, max_lease)
            slot.act.apply(duty, freq)
        except RuntimeError as e:
            # ESP32: "out of PWM timers" (8 frequencies at once) or "out of PWM channels" (16).
            raise ProtoError('limit_exceeded', 'pwm_busy', pin, e)
        f, d = slot.act.actual()
        return {'lease': self._lease(slot, duty, timeout), 'freq': f, 'duty': d}

    def _lease(self, slot, value, timeout):
        if value == slot.safe or timeout is None:
            self.leases.end(slot.pin)
            return None
        lease = self.leases.grant(slot.pin, value, timeout * 1000)
        return self._lease_view(slot, lease)

    def _lease_view(self, slot, lease):
        return {'value': lease[0], 'safe_value': slot.safe, 'expires_in_s': self.leases.left_s(lease)}

    def _check_lease(self, pin, value, safe, max_lease, timeout):
        if value == safe:
            return
        if timeout is None:
            raise ProtoError('missing_field', 'lease_needs_timeout', value, pin, safe)
        if timeout > max_lease:
            raise ProtoError('lease_too_long', 'lease_too_long', timeout, pin, max_lease)

    def _expire(self, pin, held):
        slot = self.pins.get(pin)
        if slot is None or slot.mode == 'input':
            return
        _restore(slot)
        ev = {'event': 'lease_expired', 'pin': pin, 'value': slot.safe, 'held': held}
        if slot.name:
            ev['name'] = slot.name
        self.emit(ev)

    def _slot(self, pin):
        self._exists(pin)
        slot = self.pins.get(pin)
        if slot is None:
            self.support.check_pin(pin, 'in')
            role = self.reserved.get(pin)
            if role:
                raise ProtoError('pin_conflict', 'pin_reserved', pin, role[0], role[1])
            raise ProtoError('pin_not_setup', 'pin_not_setup', pin)
        return slot

    def _exists(self, pin):
        n = self.cfg['gpio']['pin_count']
        if pin >= n:
            raise ProtoError('bad_field', 'no_such_pin', pin, n - 1)

    def _configurable(self, pin):
        self._exists(pin)
        role = self.reserved.get(pin)
        if role:
            raise ProtoError('pin_conflict', 'pin_reserved_choose', pin, role[0], role[1])

    def _no_lease(self, slot):
        lease = self.leases.get(slot.pin)
        if lease is not None:
            raise ProtoError('pin_conflict', 'pin_holds_lease', slot.pin, lease[0], self.leases.left_s(lease), slot.safe)

    def use_led(self, led):
        # The status LED, from now on; it lets go at once of a pin the config already took.
        self.led = led
        for pin in self.pins:
            self._take_led(pin)

    def _take_led(self, pin):
        # A plain Pico's GP25 and an ESP32 DevKit's GPIO2 are the status LED's: a pin set up for
        # the user stops blinking, or its output would mix with the blinks.
        if self.led is not None and pin == getattr(self.support, 'LED_GPIO', None):
            self.led.pin = None

    def _setup_input(self, pin, pull, name):
        self._take_led(pin)
        slot = Slot(pin, name, 'input')
        slot.pull = pull
        slot.hw = Pin(pin, Pin.IN, _PULLS.get(pull))
        self.pins[pin] = slot
        return slot

    def _setup_output(self, pin, name, fixed, driver, options, safe, max_lease):
        self._take_led(pin)
        slot = Slot(pin, name, 'pwm' if driver == 'pwm' else 'output', fixed)
        slot.act = drivers.load_actuator(driver).Actuator(pin, options)
        slot.act.init(safe)
        slot.safe = safe
        slot.max_lease = max_lease
        slot.active_low = options.get('active_low') is True
        self.pins[pin] = slot
        return slot

    def _release(self, slot):
        if slot is None:
            return
        self._unwatch(slot.pin)
        self.leases.end(slot.pin)
        if slot.act is not None:
            slot.act.release()
        del self.pins[slot.pin]
        if slot.mode == 'pwm':
            # rp2: deinit stops the whole slice, so the other channel's output starts again.
            ch = self.support.pwm_channel(slot.pin)
            if ch is not None:
                for s in self.pins.values():
                    if s.mode == 'pwm' and self.support.pwm_channel(s.pin) >> 1 == ch >> 1:
                        s.act.resume()

    def _max_lease(self, pin):
        # A pin's own maximum lease from the config survives any later setup_pin of that pin.
        top = self.cfg['max_lease_s']
        for p in self.cfg['pins']:
            if p['pin'] == pin and p.get('max_lease_s') is not None:
                return min(p['max_lease_s'], top)
        return top

    # --- sensors --------------------------------------------------------------------------

    def add_sensor(self, entry, err=None):
        # A sensor whose init failed (err) is kept: the board serves everything else and starts
        # it later (a DHT22 answers only 1-2 s after power-up; a loose wire may be fixed).
        name = entry.cfg['name']
        self.sensors[name] = entry
        self.sensor_names.append(name)
        if err is not None:
            self.sensor_down(entry, err)

    def sensor_down(self, e, err):
        e.fault = ProtoError('sensor_error', 'sensor_down', e.cfg['name'], self._fault(e, err))
        self.sensors_down += 1
        print('tether:', e.fault.message)
        self.emit({'event': 'sensor_state', 'sensor': e.cfg['name'], 'fault': e.fault.wire()})
        if self._retry is None:
            self._retry = asyncio.create_task(self._start_sensors())

    async def _start_sensors(self):
        # One task for every sensor that has not started: 1 s, then twice as long each round up
        # to 60 s, until none is left.
        wait = _RETRY_FIRST_MS
        while self.sensors_down:
            await self.clock.sleep(wait)
            wait = min(wait * 2, _RETRY_MAX_MS)
            for name in self.sensor_names:
                e = self.sensors[name]
                if e.fault is None:
                    continue
                try:
                    await e.sensor.init()
                except Exception as err:
                    e.fault = ProtoError('sensor_error', 'sensor_down', name, self._fault(e, err))
                    continue
                e.fault = None
                self.sensors_down -= 1
                say('sensor_started', (name,))
                self.emit({'event': 'sensor_state', 'sensor': name, 'fault': None})
        self._retry = None

    def _entry(self, name, field):
        e = self.sensors.get(name)
        if e is None:
            raise ProtoError('bad_field', 'no_such_sensor', field, name, ', '.join(self.sensor_names) or 'no sensors')
        return e

    async def read_sensor(self, name):
        e = self._entry(name, 'name')
        if e.fault is not None:
            raise e.fault
        try:
            values = await self._read(e)
        except Exception as err:
            raise ProtoError('sensor_error', 'sensor_fault', name, self._fault(e, err))
        return {'values': values, 'units': e.mod.QUANTITIES}

    async def _read(self, e):
        # A chip holds one conversation at a time: a read that comes while one runs shares it.
        run = e.inflight
        if run is not None:
            await run[0].wait()
            if run[2] is not None:
                raise run[2]
            return run[1]
        run = e.inflight = [asyncio.Event(), None, None]
        try:
            run[1] = await e.sensor.read()
        except Exception as err:
            run[2] = err
            raise
        finally:
            e.inflight = None
            run[0].set()
        return run[1]

    def _fault(self, e, err):
        d = e.cfg['driver']
        if e.mod.BUS == 'i2c':
            bus = e.cfg.get('bus', 0)
            if isinstance(err, OSError):
                return text('i2c_no_answer', (d, e.address, bus))
            return text('i2c_fault', (d, e.address, bus, err))
        return '%s: %s' % (d, err)

    # --- subscriptions ------------------------------------------------------------------

    def watch_pin(self, pin, edge, cb):
        slot = self._slot(pin)
        if slot.mode != 'input':
            raise ProtoError('pin_conflict', 'watch_output_pin', pin)
        w = self.watchers.get(pin)
        if w is None:
            irq = slot.hw.irq(handler=self._irq, trigger=Pin.IRQ_RISING | Pin.IRQ_FALLING)
            # [Pin, last level reported, [[edge, callback, failed]], the IRQ object when the port
            # says which edges fired (rp2's flags(); ESP32's IRQ object has none)]
            w = self.watchers[pin] = [slot.hw, slot.hw.value(), [], irq if hasattr(irq, 'flags') else None]
        entry = [edge, cb, False]
        w[2].append(entry)

        def stop():
            if entry in w[2]:
                w[2].remove(entry)
            if not w[2] and self.watchers.get(pin) is w:
                self._unwatch(pin)
        return stop

    def _irq(self, p):
        # A soft IRQ: it runs a while after the edge (tens of µs, more while the VM is busy), so
        # the level now may already be another. rp2 says which edges its interrupt found latched;
        # the edge task makes the events from that. Without flags(), the level is all there is.
        for pin, w in self.watchers.items():
            if w[0] is p:
                i = self._head
                self._ring[i] = pin
                self._ring[i + 1] = w[3].flags() & _EDGES if w[3] is not None else _LEVEL | p.value()
                self._head = (i + 2) & 63
                if self._head == self._tail:  # full: forget the oldest rather than block
                    self._tail = (self._tail + 2) & 63
                self._flag.set()
                return

    async def _edges(self):
        ring = self._ring
        while True:
            await self._flag.wait()
            self._flag.clear()
            while self._tail != self._head:
                t = self._tail
                pin = ring[t]
                what = ring[t + 1]
                self._tail = (t + 2) & 63
                w = self.watchers.get(pin)
                if w is not None:
                    for level in self._levels(w[1], what, self._later(pin)):
                        w[1] = level
                        self._deliver(pin, w[2], level)

    def _later(self, pin):
        # Whether the ring holds another entry of this pin after the one just taken.
        i = self._tail
        while i != self._head:
            if self._ring[i] == pin:
                return True
            i = (i + 2) & 63
        return False

    def _levels(self, last, what, later):
        # The levels one IRQ entry stands for, given the last level reported. Each soft IRQ stands
        # for one GPIO interrupt, but reads the flags of the latest: an entry followed by another
        # of its pin is one edge away from `last`, whatever its flags say. Both edges at once: a
        # pulse shorter than the interrupt latency, there and back. A last entry whose edge leads
        # to the level already reported stands for a pulse whose first edge's IRQ was lost.
        if what & _LEVEL:
            level = what & 1
            return () if level == last else (level,)
        if what == _EDGES:
            return (1 - last, last)
        if later:
            return (1 - last,)
        if not what:
            return ()  # the IRQ was set up again meanwhile: its flags were cleared
        level = 1 if what & Pin.IRQ_RISING else 0
        return (level,) if level != last else (1 - level, level)

    def _deliver(self, pin, entries, level):
        # A failing callback is that subscriber's problem: the others still get the edge, and the
        # console says it once per subscription.
        for entry in list(entries):
            edge = entry[0]
            if edge == 'both' or (edge == 'rising') == (level == 1):
                try:
                    entry[1](level)
                except Exception as err:
                    if not entry[2]:
                        entry[2] = True
                        say('edge_cb_failed', (pin, err))

    def _unwatch(self, pin):
        w = self.watchers.pop(pin, None)
        if w is not None:
            w[2].clear()
            w[0].irq(handler=None)

    def poll_sensor(self, name, interval, cb):
        # A read still running when the next is due skips that tick (docs/protocol.md §5.14).
        self._entry(name, 'sensor')
        st = [False, False, None]  # stopped, busy, timer

        async def run():
            try:
                r = await self.read_sensor(name)
            except ProtoError as err:
                r = err
            st[1] = False
            if not st[0]:
                cb(r)

        def tick():
            if st[0]:
                return
            st[2] = self.clock.call_later(interval, tick)
            if st[1]:
                return
            st[1] = True
            asyncio.create_task(run())

        st[2] = self.clock.call_later(interval, tick)

        def stop():
            st[0] = True
            self.clock.cancel(st[2])
        return stop

    # --- state, power -------------------------------------------------------------------

    def state(self):
        pins = []
        for n in sorted(self.pins):
            s = self.pins[n]
            d = {'pin': n, 'mode': s.mode}
            if s.name:
                d['name'] = s.name
            if s.mode == 'input':
                d['pull'] = s.pull
                d['value'] = s.hw.value()
            else:
                if s.mode == 'pwm':
                    d['freq'], d['duty'] = s.act.actual()
                else:
                    d['value'] = s.act.current()
                d['safe_value'] = s.safe
                if s.active_low:
                    d['active_low'] = True
                d['max_lease_s'] = s.max_lease
                lease = self.leases.get(n)
                d['lease'] = self._lease_view(s, lease) if lease else None
            pins.append(d)
        leases = []
        for n in self.leases.pins():
            lease = self.leases.get(n)
            leases.append({'pin': n, 'value': lease[0], 'expires_in_s': self.leases.left_s(lease)})
        st = {'pins': pins, 'leases': leases, 'sensors': list(self.sensor_names), 'boot_id': self.boot_id, 'uptime_s': self.uptime_ms() / 1000}
        if self.sensors_down:
            st['sensor_faults'] = {n: e.fault.wire() for n, e in self.sensors.items() if e.fault is not None}
        return st

    def capabilities(self):
        caps = ['gpio', 'leases', 'pwm', 'subscribe']
        if self.cfg['adc']['pins']:
            caps.append('adc')
        if self.cfg['i2c']:
            caps.append('i2c')
        if self.sensors:
            caps.append('sensors')
        if self.cfg.get('tls'):
            caps.append('tls')
        if self.cfg.get('auth'):
            caps.append('auth')
        caps.append('ota')
        return caps

    def light_sleep(self, ms):
        self.sleep_until = self.clock.now() + ms

    def sleeping_ms(self):
        left = self.sleep_until - self.clock.now()
        return left if left > 0 else 0

    def schedule_reset(self, ms, then='reset', arg=None):
        # Like piconetcontrol, the reset comes a moment after the reply has gone out.
        if then == 'deepsleep':
            top = getattr(self.support, 'DEEP_SLEEP_MAX_MS', None)
            if top is not None and arg > top:
                raise ProtoError('bad_field', 'deep_sleep_too_long', top, top // 60000, arg)
        if self.reset_timer is None:
            self.reset_timer = self.clock.call_later(ms, lambda: self._reset(then, arg))

    def _reset(self, how, arg):
        # Cleared first: if the restart does not happen (it failed, or tests stand in for it), the
        # next reset or update commit must still reset.
        self.reset_timer = None
        self.safe_all()
        for listener in list(self.reset_listeners):
            listener()
        if self.restart is not None:
            self.restart(how, arg)

    def safe_all(self):
        # Ends every lease and puts every output at its safe value, without events.
        self.leases.clear()
        for s in self.pins.values():
            if s.mode != 'input':
                _restore(s)


def _restore(slot):
    # A PWM actuator keeps its frequency; only the duty goes back.
    slot.act.apply(slot.safe)

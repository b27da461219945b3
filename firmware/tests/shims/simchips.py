# Register-level I2C chips for simhw.attach(): the same bytes as the TypeScript simulated chips
# (src/device/sim/chips/*.ts), so a firmware driver is tested against what the real part says.
# Values are plain attributes (chip.temperature = 21.5); each chip has a fault knob.
import math
import simhw


def _round(x):
    # JavaScript's Math.round (halves go up), so the encodings match the TS sims bit for bit.
    return math.floor(x + 0.5)


def _clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _words(word, n):
    # A 16-bit register read n bytes long: big-endian, repeating.
    out = bytearray(n)
    for i in range(n):
        out[i] = (word >> 8) & 0xFF if i % 2 == 0 else word & 0xFF
    return out


class Aht10:
    # AHT10 datasheet: soft reset (busy 20 ms), calibrate, trigger (busy conversion_ms), then
    # status + 5 data bytes. Faults: refuse_calibration; busy_forever (the busy bit never clears).
    def __init__(self, address=0x38, temperature=21.0, humidity=45.0):
        self.address = address
        self.temperature = temperature
        self.humidity = humidity
        self.conversion_ms = 75
        self.refuse_calibration = False
        self.busy_forever = False
        self.calibrated = False
        self._busy_at = None
        self._busy_ms = 0
        self._pending = None
        self._data = bytearray(5)

    def _busy(self):
        # Timed in microseconds: a command 19.7 ms after the soft reset is ignored, as on the
        # real chip (the datasheet's 20 ms), although ticks_ms may already say 20.
        if self.busy_forever:
            return True
        return self._busy_at is not None and simhw.since_us(self._busy_at) < self._busy_ms * 1000

    def _settle(self):
        if self._pending is not None and not self._busy():
            self._data = encode_aht10(self._pending[0], self._pending[1])
            self._pending = None

    def write(self, data):
        self._settle()
        cmd = data[0] if len(data) else None
        if cmd == 0xBA:
            self.calibrated = False
            self._pending = None
            self._busy_at = simhw.now_us()
            self._busy_ms = 20
            return
        if self._busy():
            return  # commands during a reset or a measurement are ignored
        if bytes(data) == b'\xe1\x08\x00':
            if not self.refuse_calibration:
                self.calibrated = True
        elif bytes(data) == b'\xac\x33\x00':
            self._pending = (self.temperature, self.humidity)
            self._busy_at = simhw.now_us()
            self._busy_ms = self.conversion_ms

    def read(self, n):
        self._settle()
        out = bytearray(b'\xff' * n)
        out[0] = (0x80 if self._busy() else 0) | (0x08 if self.calibrated else 0)
        for i in range(1, min(n, 6)):
            out[i] = self._data[i - 1]
        return out


def encode_aht10(temperature, humidity):
    # The 5 data bytes after the status byte: 20-bit humidity, then 20-bit temperature.
    h = _clamp(_round(humidity / 100 * 1048576), 0, 1048575)
    t = _clamp(_round((temperature + 50) / 200 * 1048576), 0, 1048575)
    return bytearray((h >> 12, (h >> 4) & 0xFF, ((h & 0x0F) << 4) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF))


class Tmp102:
    # TMP102 datasheet: pointer register; temperature, configuration and the two limits, 16-bit
    # big-endian. Writing EM (config bit 4) switches to 13-bit extended mode. Fault: config_override
    # (a word the config register reads instead, e.g. another chip's).
    def __init__(self, address=0x48, temperature=21.0):
        self.address = address
        self.temperature = temperature
        self.config_override = None
        self._pointer = 0
        # Power-up: config 0x60A0 (12-bit, 4 Hz), T_LOW 75 °C, T_HIGH 80 °C.
        self.regs = [0, 0x60A0, 0x4B00, 0x5000]

    @property
    def extended(self):
        return (self.regs[1] & 0x0010) != 0

    def write(self, data):
        if not len(data):
            return
        self._pointer = data[0] & 0x03
        if len(data) < 3 or self._pointer == 0:
            return
        word = (data[1] << 8) | data[2]
        # R1:R0 read as 11, AL reads 1 (no alert), bits 3:0 are 0; the rest is writable.
        self.regs[self._pointer] = (word & 0x1FD0) | 0x6020 if self._pointer == 1 else word

    def read(self, n):
        p = self._pointer
        if p == 0:
            word = encode_tmp102(self.temperature, self.extended)
        elif p == 1 and self.config_override is not None:
            word = self.config_override
        else:
            word = self.regs[p]
        return _words(word, n)


def encode_tmp102(celsius, extended):
    # 12-bit (or 13-bit with bit 0 set, in extended mode) two's complement, 0.0625 °C/LSB.
    bits = 13 if extended else 12
    raw = _clamp(_round(celsius / 0.0625), -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return (((raw & 0x1FFF) << 3) | 1) if extended else (raw & 0xFFF) << 4


_EMC_WRITABLE = (0x03, 0x04, 0x05, 0x07, 0x08, 0x0C, 0x0D, 0x11, 0x12, 0x13, 0x14, 0x19,
                 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F)


class Emc2101:
    # EMC2101 datasheet: pointer + byte registers; internal 0x00, external 0x01 (high, latches
    # the low byte) / 0x10 (low), IDs 0xFD/0xFE, fan setting 0x4C and tach 0x46/0x47.
    # Fault: diode = 'open' | 'short' (the chip then reports its fault code and status bit).
    def __init__(self, address=0x4C, temperature=30, external_temperature=38):
        self.address = address
        self.temperature = temperature
        self.external_temperature = external_temperature
        self.diode = None
        self.max_rpm = 3000
        self._pointer = 0
        self.regs = bytearray(256)
        self.regs[0x4A] = 0x20  # fan configuration
        self.regs[0xFD] = 0x16  # product ID: EMC2101
        self.regs[0xFE] = 0x5D  # manufacturer ID: SMSC
        self.regs[0xFF] = 0x01  # revision

    @property
    def fan_setting(self):
        return self.regs[0x4C]

    def rpm(self):
        return _round(self.fan_setting / 63 * self.max_rpm)

    def write(self, data):
        if not len(data):
            return
        self._pointer = data[0]
        for v in data[1:]:
            if self._pointer in _EMC_WRITABLE:
                self.regs[self._pointer] = v & 0x3F if self._pointer == 0x4C else v
            self._pointer = (self._pointer + 1) & 0xFF

    def read(self, n):
        out = bytearray(n)
        for i in range(n):
            out[i] = self._register(self._pointer)
            self._pointer = (self._pointer + 1) & 0xFF
        return out

    def _register(self, reg):
        if reg == 0x00:
            return _clamp(_round(self.temperature), -128, 127) & 0xFF
        if reg == 0x01:
            code = self._external_code()
            self.regs[0x10] = (code & 0x07) << 5
            return (code >> 3) & 0xFF
        if reg == 0x02:
            return 0 if self.diode is None else 0x04
        if reg == 0x46:
            rpm = self.rpm()
            tach = 0xFFFF if rpm == 0 else min(0xFFFE, _round(5400000 / rpm))
            self.regs[0x47] = tach >> 8
            return tach & 0xFF
        return self.regs[reg]

    def _external_code(self):
        # 11-bit two's complement, 0.125 °C/step; kept below the fault codes.
        if self.diode == 'open':
            return 0x3F8
        if self.diode == 'short':
            return 0x3FF
        steps = _clamp(_round(self.external_temperature * 8), -0x400, 0x3F7)
        return steps & 0x7FF


_ADS_RATES = (8, 16, 32, 64, 128, 250, 475, 860)
_ADS_FSR = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
_ADS_PAIRS = ((0, 1), (0, 3), (1, 3), (2, 3), (0, None), (1, None), (2, None), (3, None))


class Ads1115:
    # An ADS1115 with a PT-100 divider on one input (ADS1115 datasheet):
    # pointer, config and conversion registers; a single-shot conversion holds OS low for 1/DR s.
    # Fault: open = True (the PT-100 is disconnected: its input sits at the supply).
    def __init__(self, address=0x48, temperature=20.0, channel=0, divider_ohms=97.7, supply_v=3.29,
                 counts_per_supply=26300):
        self.address = address
        self.temperature = temperature
        self.open = False
        self.channel = channel
        self.divider_ohms = divider_ohms
        self.supply_v = supply_v
        self.counts_per_supply = counts_per_supply
        self.last_config_written = None
        self._pointer = 0
        self._config = 0x8583  # power-up: AIN0-AIN1, ±2.048 V, single-shot, 128 SPS
        self._lo = 0x8000
        self._hi = 0x7FFF
        self._conversion = 0
        self._conv_at = None
        self._conv_ms = 0

    def input_volts(self, channel):
        if channel != self.channel:
            return 0
        if self.open:
            return self.supply_v
        r = 100 * (1 + 0.00385 * self.temperature)
        return self.supply_v * r / (r + self.divider_ohms)

    def write(self, data):
        self._settle()
        if not len(data):
            return
        self._pointer = data[0] & 0x03
        if len(data) < 3:
            return
        word = (data[1] << 8) | data[2]
        if self._pointer == 1:
            self.last_config_written = word
            self._config = word & 0x7FFF
            if word & 0x0100 and word & 0x8000 and self._conv_at is None:
                self._conv_at = simhw.now_ms()
                self._conv_ms = 1000 / _ADS_RATES[(word >> 5) & 0x07]
        elif self._pointer == 2:
            self._lo = word
        elif self._pointer == 3:
            self._hi = word

    def read(self, n):
        self._settle()
        p = self._pointer
        single = self._config & 0x0100
        if p == 0:
            word = self._conversion if single else self._sample()
        elif p == 1:
            # OS reads 1 when no conversion runs (single-shot) and 0 in continuous mode.
            word = self._config | (0x8000 if single and self._conv_at is None else 0)
        else:
            word = self._lo if p == 2 else self._hi
        return _words(word, n)

    def _settle(self):
        if self._conv_at is not None and simhw.since(self._conv_at) >= self._conv_ms:
            self._conversion = self._sample()
            self._conv_at = None

    def _sample(self):
        p, q = _ADS_PAIRS[(self._config >> 12) & 0x07]
        fsr = _ADS_FSR[(self._config >> 9) & 0x07]
        volts = self.input_volts(p) - (0 if q is None else self.input_volts(q))
        counts = _round(volts * self.counts_per_supply / self.supply_v * (4.096 / fsr))
        return _clamp(counts, -0x8000, 0x7FFF) & 0xFFFF


# Chip classes by sensor driver id, as the TS SIM_CHIPS registry (src/device/sim/chips/index.ts).
CHIPS = {'aht10': Aht10, 'tmp102': Tmp102, 'emc2101': Emc2101, 'pt100_ads1115': Ads1115}


def make(driver_id, address, options=None):
    # The simulated chip an I2C sensor of this driver talks to; an ADS1115 takes the sensor's
    # divider options so that its PT-100 reads what the driver expects.
    cls = CHIPS[driver_id]
    if cls is Ads1115:
        return Ads1115(address, **(options or {}))
    return cls(address)


def populate(cfg):
    # Puts a simulated device behind every sensor of a board config (sensors[], sim.absent[]),
    # as `tether device --sim` does: a chip on its I2C bus, a DS18B20 or DHT22 on its pin.
    absent = [(a.get('bus', 0), _addr(a.get('address'))) for a in (cfg.get('sim') or {}).get('absent', [])]
    for s in cfg.get('sensors', []):
        d = s['driver']
        opts = s.get('options') or {}
        if d in CHIPS:
            addr = _addr(s.get('address'))
            if addr is None:
                addr = {'aht10': 0x38, 'emc2101': 0x4C}.get(d, 0x48)
            bus = s.get('bus', 0)
            if (bus, addr) not in absent and simhw.chip(bus, addr) is None:
                simhw.attach(bus, make(d, addr, opts))
        elif d == 'ds18b20':
            rom = opts.get('rom')
            rom = bytes(int(rom[i:i + 2], 16) for i in range(0, 16, 2)) if rom else 0x100 + opts['pin']
            simhw.add_ds18b20(opts['pin'], rom, 21.0)
        elif d == 'dht22':
            simhw.set_dht22(opts['pin'], 21.0, 45.0)


def _addr(a):
    return int(a, 16) if isinstance(a, str) else a

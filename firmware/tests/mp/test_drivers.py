# The firmware drivers against the simulated chips, pins and buses of the shims. Byte vectors
# and expected values are the TS driver tests' (test/device/drivers.test.ts), so both drivers
# of a chip decode the same bytes to the same numbers. Runs under CPython and MicroPython.
import asyncio
import math
import sys
import simhw
import simchips
from machine import Pin, I2C
from tether.errors import SensorFault
from tether.drivers import load_sensor, load_actuator, SENSORS, ACTUATORS


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError('expected %s' % exc.__name__)


async def _fails(exc, coro):
    try:
        await coro
    except exc as e:
        return e
    raise AssertionError('expected %s' % exc.__name__)


class _Clock:
    # Swaps asyncio.sleep_ms for one that moves simhw's manual clock instead of waiting, as
    # the TS tests' ManualClock does: waits cost nothing and are recorded. Like asyncio's, a wait
    # ends when the millisecond tick count reaches the one it began in plus ms; the clock starts
    # 0.3 ms into a tick, so sleep_ms(20) lasts 19.7 ms (as measured on an RP2040).
    def __enter__(self):
        simhw.manual_clock()
        simhw.advance_us(300)
        self.real = asyncio.sleep_ms
        self.waits = []
        asyncio.sleep_ms = self.sleep
        return self

    async def sleep(self, ms):
        self.waits.append(ms)
        simhw.advance_us((simhw.now_ms() + ms) * 1000 - simhw.now_us())
        await self.real(0)

    def __exit__(self, *exc):
        asyncio.sleep_ms = self.real
        simhw.manual_clock(False)


def _bench(chip, bus=0):
    # A fresh board with one chip on an I2C bus, every transfer logged as (op, bytes, time).
    simhw.reset()
    simhw.attach(bus, chip)
    simhw.transfers = []
    return I2C(bus, sda=Pin(4), scl=Pin(5))


def _wire():
    out = [(t[1], t[3]) for t in simhw.transfers]
    simhw.transfers.clear()
    return out


# --- registry -----------------------------------------------------------------------------

def test_registry_loads_each_driver_by_id():
    for driver_id in SENSORS:
        m = load_sensor(driver_id)
        assert m.BUS in ('i2c', 'pin', 'internal'), driver_id
        assert isinstance(m.ADDRESSES, tuple) and (len(m.ADDRESSES) > 0) == (m.BUS == 'i2c'), driver_id
        assert hasattr(m, 'Sensor')
    for driver_id in ACTUATORS:
        assert hasattr(load_actuator(driver_id), 'Actuator')
    # Quantities and addresses as the TS drivers declare them.
    assert load_sensor('aht10').QUANTITIES == {'temperature': '°C', 'humidity': '%'}
    assert load_sensor('aht10').ADDRESSES == (0x38, 0x39)
    assert load_sensor('tmp102').ADDRESSES == (0x48, 0x49, 0x4A, 0x4B)
    assert load_sensor('emc2101').QUANTITIES == {'temperature': '°C', 'external_temperature': '°C'}
    assert load_sensor('emc2101').ADDRESSES == (0x4C,)
    assert load_sensor('chip_temp').BUS == 'internal'
    assert load_sensor('dht22').QUANTITIES == {'temperature': '°C', 'humidity': '%'}
    e = _raises(ValueError, load_sensor, 'bme280')
    assert 'aht10' in str(e), 'the message lists the known drivers'
    _raises(ValueError, load_actuator, 'servo')
    _raises(ValueError, load_sensor, '__init__')


def test_options_are_strict():
    e = _raises(ValueError, load_sensor('aht10').Sensor, I2C(0), None, {'rate': 1})
    assert 'rate' in str(e)
    _raises(ValueError, load_sensor('tmp102').Sensor, None, None, {})
    e = _raises(ValueError, load_sensor('dht22').Sensor, None, None, {})
    assert 'options.pin' in str(e)
    _raises(ValueError, load_sensor('ds18b20').Sensor, None, None, {'pin': 'GP4'})
    _raises(ValueError, load_sensor('ds18b20').Sensor, None, None, {'pin': 4, 'rom': '28ff'})
    _raises(ValueError, load_sensor('ds18b20').Sensor, None, None, {'pin': 4, 'rom': 'zz' * 8})
    _raises(ValueError, load_sensor('pt100_ads1115').Sensor, I2C(0), None, {'channel': 4})
    _raises(ValueError, load_actuator('pwm').Actuator, 3, {'freq': 0.5})
    _raises(ValueError, load_actuator('digital').Actuator, 3, {'active_low': 1})
    _raises(ValueError, load_actuator('digital').Actuator, 3, {'inverted': True})


# --- AHT10 --------------------------------------------------------------------------------

async def test_aht10_init_and_read_bytes_and_timing():
    chip = simchips.Aht10(temperature=21.5, humidity=45.25)
    i2c = _bench(chip)
    s = load_sensor('aht10').Sensor(i2c, None, {})
    with _Clock() as clock:
        await s.init()
        assert chip.calibrated
        assert _wire() == [('write', b'\xba'), ('write', b'\xe1\x08\x00'), ('read', b'\x08')]
        assert clock.waits == [21, 50], 'the chip ignores commands for 20 ms after the soft reset'
        v = await s.read()
        assert v == {'temperature': 21.5, 'humidity': 45.25}, v
        # 45.25 % -> 0x73D71, 21.5 °C -> 0x5B852
        assert _wire() == [('write', b'\xac\x33\x00'), ('read', b'\x08\x73\xd7\x15\xb8\x52')]
        assert clock.waits == [21, 50, 80], 'reads 80 ms after the trigger'


def test_aht10_decode_vectors():
    decode = load_sensor('aht10').decode
    assert decode(b'\x08\x73\xd7\x15\xb8\x52') == {'temperature': 21.5, 'humidity': 45.25}
    assert decode(b'\x08\x80\x00\x04\xcc\xcd') == {'temperature': 10.0, 'humidity': 50.0}
    assert decode(b'\x08\x00\x00\x00\x00\x00') == {'temperature': -50.0, 'humidity': 0.0}


async def test_aht10_decodes_within_one_lsb_across_the_range():
    chip = simchips.Aht10()
    s = load_sensor('aht10').Sensor(_bench(chip), 0x38, {})
    with _Clock():
        await s.init()
        for t, h in ((-40, 0), (-0.07, 12.345), (0, 100), (25.555, 33.3), (84.99, 99.99), (149.9, 0.5)):
            chip.temperature = t
            chip.humidity = h
            v = await s.read()
            assert abs(v['temperature'] - t) <= 0.005 + 200 / 1048576, (t, v)
            assert abs(v['humidity'] - h) <= 0.005 + 100 / 1048576, (h, v)


async def test_aht10_slow_chip_is_read_again_every_20_ms():
    chip = simchips.Aht10(temperature=30, humidity=40)
    s = load_sensor('aht10').Sensor(_bench(chip), None, {})
    with _Clock() as clock:
        await s.init()
        chip.conversion_ms = 110
        _wire()
        assert await s.read() == {'temperature': 30.0, 'humidity': 40.0}
        reads = [b for op, b in _wire() if op == 'read']
        assert [bool(b[0] & 0x80) for b in reads] == [True, True, False]
        assert clock.waits[2:] == [80, 20, 20]


async def test_aht10_busy_after_retries_is_a_sensor_fault():
    chip = simchips.Aht10()
    s = load_sensor('aht10').Sensor(_bench(chip), None, {})
    with _Clock():
        await s.init()
        chip.busy_forever = True
        _wire()
        e = await _fails(SensorFault, s.read())
        assert 'still busy 140 ms' in str(e), e
        assert len([1 for op, b in _wire() if op == 'read']) == 1 + 3


async def test_aht10_uncalibrated_chip_fails_init():
    chip = simchips.Aht10()
    chip.refuse_calibration = True
    s = load_sensor('aht10').Sensor(_bench(chip), None, {})
    with _Clock():
        e = await _fails(SensorFault, s.init())
    assert 'calibrated' in str(e) and 'status 0x00' in str(e), e


async def test_absent_chip_raises_oserror_from_the_bus():
    simhw.reset()
    s = load_sensor('aht10').Sensor(I2C(0), 0x38, {})
    e = await _fails(OSError, s.init())
    assert e.args[0] == 5
    s = load_sensor('tmp102').Sensor(I2C(0), 0x49, {})
    await _fails(OSError, s.init())


# --- TMP102 -------------------------------------------------------------------------------

async def test_tmp102_reads_12_bit_values_exactly():
    chip = simchips.Tmp102(0x48)
    s = load_sensor('tmp102').Sensor(_bench(chip), None, {})
    await s.init()
    for t in (25.0625, 0, 100.5, 127.9375, -0.0625, -10.5, -25, -55):
        chip.temperature = t
        assert await s.read() == {'temperature': t}, t
    _wire()
    chip.temperature = 25.0625
    await s.read()
    assert _wire() == [('write', b'\x00'), ('read', b'\x19\x10')]
    chip.temperature = 140.5
    assert await s.read() == {'temperature': 127.9375}, 'in 12-bit mode the chip saturates'


def test_tmp102_decode_vectors():
    decode = load_sensor('tmp102').decode
    assert decode(b'\xe7\x00', False) == -25, 'datasheet: -25 °C = 0xE70'
    assert decode(b'\x19\x10', False) == 25.0625
    assert decode(b'\x7f\xf0', False) == 127.9375
    assert decode(b'\xff\xf0', False) == -0.0625
    assert decode(b'\x4b\x01', True) == 150, 'extended: 13 bits, bit 0 set'


async def test_tmp102_between_steps_and_extended_mode():
    chip = simchips.Tmp102(0x49)
    i2c = _bench(chip)
    s = load_sensor('tmp102').Sensor(i2c, 0x49, {})
    await s.init()
    for t in (21.33, -7.77, 0.03):
        chip.temperature = t
        v = (await s.read())['temperature']
        assert abs(v - t) <= 0.0625 / 2, (t, v)
    i2c.writeto(0x49, b'\x01\x60\xb0')  # config with EM = 1
    s = load_sensor('tmp102').Sensor(i2c, 0x49, {})
    await s.init()
    for t in (140.5, 25.125, -40):
        chip.temperature = t
        assert await s.read() == {'temperature': t}, t


async def test_tmp102_rejects_another_chips_config_register():
    # An ADS1115 at 0x48 answers the config pointer with 0x85 0x83.
    i2c = _bench(simchips.Ads1115(0x48))
    e = await _fails(SensorFault, load_sensor('tmp102').Sensor(i2c, None, {}).init())
    assert '0x85 0x83' in str(e), e


# --- EMC2101 ------------------------------------------------------------------------------

async def test_emc2101_ids_then_internal_and_external_temperatures():
    chip = simchips.Emc2101()
    s = load_sensor('emc2101').Sensor(_bench(chip), None, {})
    await s.init()
    assert _wire() == [('write', b'\xfe'), ('read', b'\x5d'), ('write', b'\xfd'), ('read', b'\x16')]
    for t, ext in ((31, 45.375), (-3, -5.25), (0, -0.125), (85, 126.875), (-40, -64)):
        chip.temperature = t
        chip.external_temperature = ext
        assert await s.read() == {'temperature': t, 'external_temperature': ext}, (t, ext)
    chip.temperature = -3
    chip.external_temperature = -5.25
    _wire()
    await s.read()
    assert _wire() == [('write', b'\x00'), ('read', b'\xfd'), ('write', b'\x01'), ('read', b'\xfa'),
                       ('write', b'\x10'), ('read', b'\xc0')]


async def test_emc2101_open_or_shorted_diode_is_a_sensor_fault():
    chip = simchips.Emc2101()
    s = load_sensor('emc2101').Sensor(_bench(chip), None, {})
    await s.init()
    chip.diode = 'open'
    e = await _fails(SensorFault, s.read())
    assert 'open (0x7f 0x00)' in str(e), e
    chip.diode = 'short'
    e = await _fails(SensorFault, s.read())
    assert 'shorted (0x7f 0xe0)' in str(e), e
    chip.diode = None
    chip.temperature = 20
    chip.external_temperature = 30
    assert await s.read() == {'temperature': 20, 'external_temperature': 30}


async def test_emc2101_rejects_other_ids():
    i2c = _bench(simchips.Tmp102(0x4C))
    e = await _fails(SensorFault, load_sensor('emc2101').Sensor(i2c, None, {}).init())
    assert 'not an EMC2101' in str(e), e


# --- PT-100 on an ADS1115 -----------------------------------------------------------------

def _pt100_raw(t, supply=3.29, divider=97.7, counts=26300):
    r = 100 * (1 + 0.00385 * t)
    return int(supply * r / (r + divider) / supply * counts + 0.5)


async def test_pt100_single_shot_bytes_and_value():
    chip = simchips.Ads1115(temperature=50)
    s = load_sensor('pt100_ads1115').Sensor(_bench(chip), None, {})
    with _Clock() as clock:
        await s.init()
        _wire()
        v = (await s.read())['temperature']
        raw = _pt100_raw(50)
        assert chip.last_config_written == 0xC383
        assert _wire() == [('write', b'\x01\xc3\x83'), ('write', b'\x01'), ('read', b'\xc3\x83'),
                           ('write', b'\x00'), ('read', bytes((raw >> 8, raw & 0xFF)))]
        assert clock.waits == [10]
    assert v == s.temperature(raw) and abs(v - 50) < 0.05, v


async def test_pt100_channel_option_and_open_circuit():
    chip = simchips.Ads1115(0x4B, temperature=42, channel=3, divider_ohms=1000, supply_v=3.3, counts_per_supply=26400)
    opts = {'channel': 3, 'divider_ohms': 1000, 'supply_v': 3.3, 'counts_per_supply': 26400}
    s = load_sensor('pt100_ads1115').Sensor(_bench(chip), 0x4B, opts)
    with _Clock():
        await s.init()
        v = (await s.read())['temperature']
        assert chip.last_config_written == 0xF383
        assert abs(v - 42) < 0.2, v
        chip.open = True
        e = await _fails(SensorFault, s.read())
        assert 'open circuit?' in str(e), e
        chip.open = False
        chip.channel = 0
        e = await _fails(SensorFault, s.read())
        assert 'short circuit' in str(e), e


# --- chip_temp and board support ----------------------------------------------------------

async def test_chip_temp_decodes_the_rp2040_channel():
    simhw.reset()
    s = load_sensor('chip_temp').Sensor(None, None, {})
    await s.init()
    for t in (27, 35.5, -10, 70):
        simhw.set_chip_temp(t)
        raw = simhw.adc(4)
        expected = math.floor((27 - (raw * 3.3 / 65535 - 0.706) / 0.001721) * 100 + 0.5) / 100
        v = (await s.read())['temperature']
        assert v == expected, (t, v, expected)
        assert abs(v - t) <= 3.3 / 4095 / 0.001721, (t, v)
    simhw.set_adc(4, 0)
    e = await _fails(SensorFault, s.read())
    assert 'cannot be right' in str(e), e


def test_board_detection_and_esp32_chip_temperature():
    from tether import boards
    b = boards.detect()
    assert b.PLATFORM == 'rp2' and b.PIN_COUNT == 30 and b.LED == 'LED', 'the shims model a Pico W'
    simhw.reset()
    from tether.led import Led
    Led(b.LED).pin.value(1)
    assert simhw.level('LED') == 1, 'the LED pin of the board module drives the LED'
    from tether.boards import esp32 as e32

    class FakeEsp32:
        pass
    fake = FakeEsp32()
    fake.raw_temperature = lambda: 122
    sys.modules['esp32'] = fake
    try:
        assert e32.chip_temp_c() == 50
        fake.mcu_temperature = lambda: 41
        assert e32.chip_temp_c() == 41
        fake.mcu_temperature = lambda: 300
        _raises(SensorFault, e32.chip_temp_c)
    finally:
        del sys.modules['esp32']
    assert e32.PLATFORM == 'esp32' and 32 in e32.ADC_PINS


# --- DS18B20 ------------------------------------------------------------------------------

async def test_ds18b20_reads_after_750_ms():
    simhw.reset()
    dev = simhw.add_ds18b20(15, 0x1234, 21.375)
    s = load_sensor('ds18b20').Sensor(None, None, {'pin': 15})
    with _Clock() as clock:
        await s.init()
        assert await s.read() == {'temperature': 21.375}
        assert clock.waits == [750]
        dev.temperature = -10.125
        assert await s.read() == {'temperature': -10.125}
        assert dev.conversions == 2


async def test_ds18b20_rom_option_chooses_among_several():
    simhw.reset()
    simhw.add_ds18b20(15, 0x1111, 20)
    b = simhw.add_ds18b20(15, 0x2222, 30)
    s = load_sensor('ds18b20').Sensor(None, None, {'pin': 15})
    e = await _fails(SensorFault, s.init())
    assert 'options.rom' in str(e) and '2 DS18B20s' in str(e), e
    rom = ''.join('%02x' % x for x in b.rom)
    s = load_sensor('ds18b20').Sensor(None, None, {'pin': 15, 'rom': rom.upper()})
    with _Clock():
        await s.init()
        assert await s.read() == {'temperature': 30}
    s = load_sensor('ds18b20').Sensor(None, None, {'pin': 15, 'rom': '28' + '00' * 7})
    e = await _fails(SensorFault, s.init())
    assert rom in str(e), 'the message lists the ROMs found'


async def test_ds18b20_faults():
    simhw.reset()
    e = await _fails(SensorFault, load_sensor('ds18b20').Sensor(None, None, {'pin': 15}).init())
    assert 'no DS18B20 answers on pin 15' in str(e), e
    dev = simhw.add_ds18b20(15, 0x99, 22)
    s = load_sensor('ds18b20').Sensor(None, None, {'pin': 15})
    with _Clock():
        await s.init()
        dev.stuck_85 = True
        e = await _fails(SensorFault, s.read())
        assert '85 °C' in str(e) and 'power-on' in str(e), e
        dev.stuck_85 = False
        dev.bad_crc = True
        e = await _fails(SensorFault, s.read())
        assert 'CRC' in str(e), e
        dev.bad_crc = False
        assert await s.read() == {'temperature': 22}
        simhw.remove_ds18b20(15, dev.rom)
        e = await _fails(SensorFault, s.read())
        assert 'no DS18B20 answers' in str(e), e


# --- DHT22 --------------------------------------------------------------------------------

async def test_dht22_reads_and_rounds_to_tenths():
    simhw.reset()
    simhw.set_dht22(7, 23.4, 56.7)
    s = load_sensor('dht22').Sensor(None, None, {'pin': 7})
    await s.init()
    assert simhw.dht_reads(7) == 1, 'init measures once to find the sensor'
    assert await s.read() == {'temperature': 23.4, 'humidity': 56.7}
    assert simhw.dht_reads(7) == 1, 'within 2 s the last reading is returned'
    s.min_interval_ms = 0
    simhw.set_dht22(7, -5.3, 99.9)
    assert await s.read() == {'temperature': -5.3, 'humidity': 99.9}


async def test_dht22_faults():
    simhw.reset()
    e = await _fails(SensorFault, load_sensor('dht22').Sensor(None, None, {'pin': 7}).init())
    assert 'no answer from the DHT22 on pin 7' in str(e), e
    simhw.set_dht22(7, 20, 50, fault='checksum')
    e = await _fails(SensorFault, load_sensor('dht22').Sensor(None, None, {'pin': 7}).init())
    assert 'checksum' in str(e), e
    simhw.set_dht22(7, 20, 50)
    s = load_sensor('dht22').Sensor(None, None, {'pin': 7})
    await s.init()
    s.min_interval_ms = 0
    simhw.set_dht22(7, 20, 50, fault='timeout')
    await _fails(SensorFault, s.read())
    simhw.set_dht22(7, 20, 150)
    e = await _fails(SensorFault, s.read())
    assert 'cannot be right' in str(e), e


# --- actuators ----------------------------------------------------------------------------

def test_digital_output_and_release():
    simhw.reset()
    a = load_actuator('digital').Actuator(5, {})
    assert simhw.mode(5) is None, 'the pin is untouched until init'
    a.init(0)
    assert simhw.mode(5) == Pin.OUT and simhw.level(5) == 0
    a.apply(1)
    assert simhw.level(5) == 1 and a.current() == 1
    a.apply(0)
    assert simhw.level(5) == 0 and a.current() == 0
    a.apply(1)
    _raises(ValueError, a.apply, 0.5)
    _raises(ValueError, a.apply, True)
    assert a.current() == 1 and simhw.level(5) == 1, 'a refused value changes nothing'
    a.release()
    assert simhw.mode(5) == Pin.IN, 'released: an input again'


def test_digital_active_low_inverts_the_pin_not_the_value():
    simhw.reset()
    a = load_actuator('digital').Actuator(6, {'active_low': True})
    a.init(0)
    assert simhw.level(6) == 1 and a.current() == 0, 'off = high for an active-low relay'
    a.apply(1)
    assert simhw.level(6) == 0 and a.current() == 1
    b = load_actuator('digital').Actuator(7, {'active_low': True})
    b.init(1)
    assert simhw.level(7) == 0 and b.current() == 1


def test_digital_never_glitches_an_active_low_relay_on():
    simhw.reset()
    edges = []
    Pin(8, Pin.IN, Pin.PULL_UP).irq(lambda p: edges.append(p.value()), Pin.IRQ_FALLING | Pin.IRQ_RISING)
    load_actuator('digital').Actuator(8, {'active_low': True}).init(0)
    assert edges == [] and simhw.level(8) == 1, edges


def test_pwm_duty_and_frequency():
    simhw.reset()
    a = load_actuator('pwm').Actuator(12, {'freq': 2000})
    assert simhw.pwm(12) is None
    a.init(0)
    assert simhw.pwm(12) == (2000, 0)
    a.apply(0.25)
    assert simhw.pwm(12) == (2000, 16384)
    a.apply(0.5, 25000)
    assert simhw.pwm(12) == (25000, 32768)
    a.apply(0.75)
    assert simhw.pwm(12) == (25000, 49151), 'the frequency stays for later writes'
    assert a.current() == 0.75 and a.frequency() == 25000
    _raises(ValueError, a.apply, 1.5)
    _raises(ValueError, a.apply, 0.5, 0)
    _raises(ValueError, a.apply, float('nan'))
    assert simhw.pwm(12) == (25000, 49151) and a.current() == 0.75
    a.apply(1)
    assert simhw.pwm(12) == (25000, 65535)
    a.release()
    assert simhw.pwm(12) is None
    b = load_actuator('pwm').Actuator(13, {})
    b.init(0.1)
    assert simhw.pwm(13) == (1000, 6554), 'default 1000 Hz'

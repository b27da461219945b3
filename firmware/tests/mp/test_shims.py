# The hardware shims themselves: pins and IRQs, PWM, ADC, I2C and the simulated chips' bytes
# (the same vectors as test/device/drivers.test.ts), 1-Wire, DHT22, WLAN and machine calls.
# Runs under CPython (with the compat layer) and MicroPython.
import machine
import network
import asyncio
import simhw
import simchips
from machine import Pin, PWM, ADC, I2C


def _raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError('expected %s' % exc.__name__)


# --- pins ---------------------------------------------------------------------------------

def test_pin_output_levels_and_modes():
    simhw.reset()
    p = Pin(5, Pin.OUT, value=1)
    assert simhw.level(5) == 1, 'value= sets the level as the pin becomes an output'
    assert simhw.mode(5) == Pin.OUT
    p.off()
    assert simhw.level(5) == 0 and p.value() == 0
    p.toggle()
    assert simhw.level(5) == 1
    p(0)
    assert p() == 0
    assert Pin('GP5').value() == 0, 'Pin objects share the pin state'
    Pin('LED', Pin.OUT).on()
    assert simhw.level('LED') == 1
    _raises(ValueError, Pin, 30)
    _raises(ValueError, Pin, 'GP99')


def test_input_reads_its_pull_unless_driven():
    simhw.reset()
    up = Pin(2, Pin.IN, Pin.PULL_UP)
    down = Pin(3, Pin.IN, Pin.PULL_DOWN)
    none = Pin(4, Pin.IN, None)
    assert (up.value(), down.value(), none.value()) == (1, 0, 0)
    simhw.drive(2, 0)
    simhw.drive(3, 1)
    assert (up.value(), down.value()) == (0, 1)
    simhw.drive(2, None)
    assert up.value() == 1, 'released: back to the pull-up'
    Pin(2, Pin.IN, None)
    assert up.value() == 0, 'pull=None removes the pull'
    Pin(2, Pin.IN)
    assert simhw.pull(2) is None, 'pull=-1 (omitted) keeps the pull as it was'


def test_soft_irq_runs_later_and_its_flags_say_which_edge_fired():
    simhw.reset()
    seen = []
    p = Pin(9, Pin.IN, Pin.PULL_DOWN)
    irq = p.irq(lambda pin: seen.append((pin.irq().flags(), pin.value())), Pin.IRQ_RISING | Pin.IRQ_FALLING)
    simhw.drive(9, 1)
    assert seen == [], 'a soft IRQ is scheduled, not run inside the code that caused the edge'
    simhw.run_soft_irqs()
    assert seen == [(Pin.IRQ_RISING, 1)], seen
    # A pulse over before the handlers run: two interrupts, two handler calls, each reading the
    # latest flags and the level then.
    simhw.drive(9, 0)
    simhw.drive(9, 1)
    simhw.drive(9, 0)
    simhw.run_soft_irqs()
    assert seen[1:] == [(Pin.IRQ_FALLING, 0)] * 3, seen
    # A pulse shorter than the interrupt latency: one interrupt finds both edges latched.
    simhw.glitch(9)
    simhw.run_soft_irqs()
    assert seen[4:] == [(Pin.IRQ_RISING | Pin.IRQ_FALLING, 0)], seen
    assert irq.trigger() == Pin.IRQ_RISING | Pin.IRQ_FALLING
    assert p.irq() is not None and len(seen) == 5 and irq.flags() != 0, 'irq() without arguments changes nothing'
    p.irq(lambda pin: seen.append('r'), Pin.IRQ_RISING)
    assert irq.flags() == 0, 'setting the IRQ up again clears its flags'
    simhw.drive(9, 1)
    simhw.drive(9, 0)
    simhw.run_soft_irqs()
    assert seen[5:] == ['r'], 'a falling edge does not fire a rising-only IRQ'
    p.irq(None)
    simhw.drive(9, 1)
    simhw.run_soft_irqs()
    assert len(seen) == 6, 'irq(None) removes the handler'


def test_hard_irq_runs_at_once_and_the_scheduler_holds_eight():
    simhw.reset()
    seen = []
    p = Pin(10, Pin.IN, None)
    p.irq(lambda pin: seen.append(pin), Pin.IRQ_FALLING, hard=True)
    Pin(10, Pin.IN, Pin.PULL_UP)
    p.init(Pin.IN, Pin.PULL_DOWN)
    assert seen == [p], 'a pull change that moves the level is an edge, and a hard IRQ runs at once'
    o = Pin(11, Pin.OUT, value=0)
    o.irq(lambda pin: seen.append('o'))
    for _ in range(6):
        o.toggle()
    o.irq(lambda pin: seen.append('o'))
    for _ in range(12):
        o.toggle()
    simhw.run_soft_irqs()
    assert seen[1:] == ['o'] * 8, 'at most 8 scheduled callbacks wait; the rest are lost (%d ran)' % (len(seen) - 1)


async def test_soft_irqs_run_once_the_caller_yields_to_the_event_loop():
    simhw.reset()
    seen = []
    p = Pin(12, Pin.IN, Pin.PULL_DOWN)
    p.irq(lambda pin: seen.append(pin.value()))
    simhw.drive(12, 1)
    simhw.drive(12, 0)
    assert seen == []
    for _ in range(3):
        await asyncio.sleep_ms(0)
    assert seen == [0, 0], 'both handlers read the level when they ran: %r' % seen


# --- PWM and ADC --------------------------------------------------------------------------

def test_pwm_state():
    simhw.reset()
    assert simhw.pwm(12) is None
    p = PWM(Pin(12), freq=2000, duty_u16=0)
    assert simhw.pwm(12) == (2000, 0)
    p.duty_u16(32768)
    p.freq(25000)
    assert simhw.pwm(12) == (25000, 32768)
    assert (p.freq(), p.duty_u16()) == (25000, 32768)
    _raises(ValueError, p.freq, 1)
    p.duty_u16(70000)
    assert p.duty_u16() == 65535, 'rp2 takes any duty_u16 above 65535 as 65535'
    p.deinit()
    assert simhw.pwm(12) is None


def test_adc_pins_channels_and_chip_temperature():
    simhw.reset()
    simhw.set_adc(26, 12345)
    assert ADC(26).read_u16() == 12345
    assert ADC(0).read_u16() == 12345, 'channel 0 is GP26'
    assert ADC(Pin(26)).read_u16() == 12345
    raw = ADC(4).read_u16()
    t = 27 - (raw * 3.3 / 65535 - 0.706) / 0.001721
    assert 24 < t < 26, 'the temperature channel starts near 25 °C, not %s' % t
    simhw.set_chip_temp(40)
    t = 27 - (ADC(ADC.CORE_TEMP).read_u16() * 3.3 / 65535 - 0.706) / 0.001721
    assert abs(t - 40) < 3.3 / 4095 / 0.001721, t
    _raises(ValueError, ADC, 5)


# --- I2C ----------------------------------------------------------------------------------

def test_i2c_absent_address_is_eio_and_scan_lists_chips():
    simhw.reset()
    i2c = I2C(0, sda=Pin(4), scl=Pin(5), freq=400000)
    e = _raises(OSError, i2c.writeto, 0x38, b'\x00')
    assert e.args[0] == 5, 'EIO, as rp2 reports a NACK'
    _raises(OSError, i2c.readfrom, 0x38, 1)
    simhw.attach(0, simchips.Tmp102(0x49))
    simhw.attach(0, simchips.Aht10())
    assert i2c.scan() == [0x38, 0x49]
    assert I2C(1).scan() == [], 'bus 1 is another bus'
    _raises(ValueError, simhw.attach, 0, simchips.Tmp102(0x49))
    simhw.detach(0, 0x49)
    assert i2c.scan() == [0x38]


def test_i2c_mem_calls_and_transfer_log():
    simhw.reset()
    i2c = I2C(0)
    emc = simhw.attach(0, simchips.Emc2101())
    simhw.transfers = []
    assert i2c.readfrom_mem(0x4C, 0xFE, 1) == b'\x5d'
    buf = bytearray(2)
    i2c.readfrom_mem_into(0x4C, 0xFD, buf)
    assert buf == bytearray(b'\x16\x5d'), 'the pointer moves on after each byte'
    i2c.writeto_mem(0x4C, 0x4C, b'\x15')
    assert emc.fan_setting == 21
    assert simhw.transfers[0] == (0, 'write', 0x4C, b'\xfe')
    assert simhw.transfers[1] == (0, 'read', 0x4C, b'\x5d')
    assert simhw.transfers[-1] == (0, 'write', 0x4C, b'\x4c\x15')


# --- simulated chips: the TS sims' bytes ----------------------------------------------------

def test_aht10_chip_busy_bit_and_data_bytes():
    simhw.reset()
    simhw.manual_clock()
    i2c = I2C(0)
    chip = simhw.attach(0, simchips.Aht10(temperature=10, humidity=50))
    i2c.writeto(0x38, b'\xe1\x08\x00')
    i2c.writeto(0x38, b'\xac\x33\x00')
    assert i2c.readfrom(0x38, 6) == b'\x88\x00\x00\x00\x00\x00'
    simhw.advance(74)
    assert i2c.readfrom(0x38, 1) == b'\x88'
    simhw.advance(1)
    # 50 % -> 0x80000, 10 °C -> 0x4CCCD (the AHT10 datasheet's formulas inverted)
    assert i2c.readfrom(0x38, 6) == b'\x08\x80\x00\x04\xcc\xcd'
    chip.busy_forever = True
    assert i2c.readfrom(0x38, 1) == b'\x88'


def test_aht10_chip_ignores_calibrate_during_soft_reset():
    simhw.reset()
    simhw.manual_clock()
    i2c = I2C(0)
    simhw.attach(0, simchips.Aht10())
    i2c.writeto(0x38, b'\xba')
    i2c.writeto(0x38, b'\xe1\x08\x00')
    assert i2c.readfrom(0x38, 1) == b'\x80'
    simhw.advance(20)
    assert i2c.readfrom(0x38, 1) == b'\x00'
    i2c.writeto(0x38, b'\xe1\x08\x00')
    assert i2c.readfrom(0x38, 1) == b'\x08'


def test_aht10_encoding_matches_ts_vector():
    # 45.25 % -> 0x73D71, 21.5 °C -> 0x5B852 (test/device/drivers.test.ts)
    assert simchips.encode_aht10(21.5, 45.25) == bytearray(b'\x73\xd7\x15\xb8\x52')


def test_tmp102_chip_registers():
    simhw.reset()
    i2c = I2C(0)
    chip = simhw.attach(0, simchips.Tmp102(0x48, temperature=-25))
    assert i2c.readfrom_mem(0x48, 0x01, 2) == b'\x60\xa0', 'power-up config'
    assert i2c.readfrom_mem(0x48, 0x00, 2) == b'\xe7\x00', 'datasheet: -25 °C = 0xE70'
    chip.temperature = 25.0625
    assert i2c.readfrom_mem(0x48, 0x00, 2) == b'\x19\x10'
    i2c.writeto(0x48, b'\x01\x60\xb0')
    assert chip.extended
    assert i2c.readfrom_mem(0x48, 0x01, 2) == b'\x60\xb0'
    i2c.writeto(0x48, b'\x01\xff\xff')
    assert i2c.readfrom_mem(0x48, 0x01, 2) == b'\x7f\xf0', 'read-only bits keep their values'
    assert simchips.encode_tmp102(140.5, False) == 0x7FF0, '12-bit mode saturates'


def test_emc2101_chip_latches_and_fault_codes():
    simhw.reset()
    i2c = I2C(0)
    chip = simhw.attach(0, simchips.Emc2101(temperature=-3, external_temperature=-5.25))
    assert i2c.readfrom_mem(0x4C, 0x00, 1) == b'\xfd'
    assert i2c.readfrom_mem(0x4C, 0x01, 1) == b'\xfa'
    assert i2c.readfrom_mem(0x4C, 0x10, 1) == b'\xc0', 'the low byte latched by the high-byte read'
    chip.diode = 'open'
    assert i2c.readfrom_mem(0x4C, 0x01, 1) + i2c.readfrom_mem(0x4C, 0x10, 1) == b'\x7f\x00'
    assert i2c.readfrom_mem(0x4C, 0x02, 1) == b'\x04', 'status: diode fault'
    chip.diode = 'short'
    assert i2c.readfrom_mem(0x4C, 0x01, 1) + i2c.readfrom_mem(0x4C, 0x10, 1) == b'\x7f\xe0'
    i2c.writeto(0x4C, b'\x00\x63')
    chip.temperature = 25
    assert i2c.readfrom_mem(0x4C, 0x00, 1) == b'\x19', 'the temperature register is read-only'


def test_emc2101_chip_tach_follows_fan_setting():
    simhw.reset()
    i2c = I2C(0)
    simhw.attach(0, simchips.Emc2101())

    def tach():
        lo = i2c.readfrom_mem(0x4C, 0x46, 1)[0]
        hi = i2c.readfrom_mem(0x4C, 0x47, 1)[0]
        return (hi << 8) | lo
    assert tach() == 0xFFFF, 'a stopped fan'
    i2c.writeto(0x4C, b'\x4c\x3f')
    assert tach() == 1800, '5 400 000 / 3000 RPM'
    i2c.writeto(0x4C, bytes((0x4C, 21)))
    assert tach() == 5400, '1000 RPM'


def test_ads1115_chip_holds_os_low_for_one_conversion():
    simhw.reset()
    simhw.manual_clock()
    i2c = I2C(0)
    simhw.attach(0, simchips.Ads1115(temperature=20))

    def word(reg):
        b = i2c.readfrom_mem(0x48, reg, 2)
        return (b[0] << 8) | b[1]
    assert word(1) == 0x8583, 'power-up config'
    i2c.writeto(0x48, b'\x01\xc3\x83')
    assert word(1) == 0x4383, 'OS = 0 while converting'
    assert word(0) == 0
    simhw.advance(8)
    assert word(1) == 0xC383
    r = 100 * (1 + 0.00385 * 20)
    assert word(0) == int(3.29 * r / (r + 97.7) / 3.29 * 26300 + 0.5)


# --- 1-Wire and DHT22 -----------------------------------------------------------------------

def test_onewire_search_finds_every_rom_and_crc_checks():
    simhw.reset()
    import onewire
    roms = [simhw.ds18b20_rom(s) for s in (0x0123456789AB, 0x0123456789AA, 0xFF0000000001)]
    for r in roms:
        simhw.add_ds18b20(15, r, 20)
    ow = onewire.OneWire(Pin(15))
    found = sorted(bytes(r) for r in ow.scan())
    assert found == sorted(roms), found
    for r in found:
        assert ow.crc8(r) == 0, 'a ROM code ends in its CRC'
    assert simhw.mode(15) == Pin.OPEN_DRAIN
    assert onewire.OneWire(Pin(16)).scan() == [], 'an empty line'
    _raises(onewire.OneWireError, onewire.OneWire(Pin(16)).reset, True)


def test_ds18x20_reads_scratchpad_over_the_bus():
    simhw.reset()
    import onewire
    import ds18x20
    dev = simhw.add_ds18b20(15, 0x42, 85)
    ds = ds18x20.DS18X20(onewire.OneWire(Pin(15)))
    rom = ds.scan()[0]
    assert ds.read_temp(rom) == 85, 'power-on value before any conversion'
    dev.temperature = -10.125
    ds.convert_temp()
    assert ds.read_temp(rom) == -10.125
    assert ds.read_scratch(rom)[:2] == bytearray(b'\x5e\xff'), '-162/16 little-endian'
    dev.bad_crc = True
    e = _raises(Exception, ds.read_temp, rom)
    assert 'CRC' in str(e)


def test_dht22_bytes_checksum_and_timeout():
    simhw.reset()
    import dht
    simhw.set_dht22(7, -5.3, 56.7)
    d = dht.DHT22(Pin(7))
    d.measure()
    assert d.buf == bytearray((0x02, 0x37, 0x80, 0x35, (0x02 + 0x37 + 0x80 + 0x35) & 0xFF)), d.buf
    assert abs(d.temperature() + 5.3) < 1e-9 and abs(d.humidity() - 56.7) < 1e-9
    simhw.set_dht22(7, fault='checksum', temperature=20, humidity=50)
    e = _raises(Exception, d.measure)
    assert 'checksum' in str(e)
    simhw.set_dht22(7)
    e = _raises(OSError, d.measure)
    assert e.args[0] == 110, 'ETIMEDOUT'


# --- WLAN ---------------------------------------------------------------------------------

def test_wlan_connects_after_n_polls_and_drops():
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=3, ip='10.0.0.7')
    w = network.WLAN(network.STA_IF)
    _raises(OSError, w.connect, 'lab', 'secret123')
    w.active(True)
    w.config(hostname='tether-pico')
    assert network.hostname() == 'tether-pico'
    w.connect('lab', 'secret123')
    assert w.status() == network.STAT_CONNECTING
    assert not w.isconnected()
    assert w.isconnected(), 'up on the third poll'
    assert w.status() == network.STAT_GOT_IP
    assert w.ifconfig()[0] == '10.0.0.7'
    assert w.status('rssi') == -55
    assert len(w.config('mac')) == 6
    simhw.wifi_drop()
    assert not w.isconnected()
    assert w.ifconfig()[0] == '0.0.0.0'
    w.connect('lab', 'secret123')
    for _ in range(3):
        w.status()
    assert w.isconnected(), 'reconnects once the AP is back'
    w.ifconfig(('10.0.0.50', '255.255.255.0', '10.0.0.1', '10.0.0.1'))
    assert w.ifconfig()[0] == '10.0.0.50', 'a static address'


def test_wlan_wrong_password_and_missing_ap():
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=0)
    w = network.WLAN(network.STA_IF)
    w.active(True)
    w.connect('lab', 'wrong')
    assert w.status() == network.STAT_WRONG_PASSWORD
    w.connect('other', 'secret123')
    assert w.status() == network.STAT_NO_AP_FOUND
    simhw.wifi(ssid='lab', key='secret123', present=False, polls=0)
    w.connect('lab', 'secret123')
    assert w.status() == network.STAT_NO_AP_FOUND
    assert not w.isconnected()
    w.active(False)
    assert w.status() == network.STAT_IDLE


# --- machine ------------------------------------------------------------------------------

def test_machine_reset_sleep_wdt_and_ids():
    simhw.reset()
    e = _raises(SystemExit, machine.reset)
    assert e.args[0] == 'machine.reset'
    machine.lightsleep(100)
    machine.deepsleep(5000)
    assert simhw.calls == [('reset',), ('lightsleep', 100), ('deepsleep', 5000)], simhw.calls
    assert machine.reset_cause() == machine.PWRON_RESET
    simhw.reset_cause = machine.WDT_RESET
    assert machine.reset_cause() == machine.WDT_RESET
    _raises(ValueError, machine.WDT, timeout=8389)
    wdt = machine.WDT(timeout=8000)
    wdt.feed()
    wdt.feed()
    assert simhw.wdt['timeout'] == 8000 and simhw.wdt['feeds'] == 2, simhw.wdt
    assert len(machine.unique_id()) == 8
    assert machine.freq() == 125000000
    fired = []
    t = machine.Timer(period=1000, mode=machine.Timer.PERIODIC, callback=lambda t: fired.append(1))
    simhw.fire_timers()
    simhw.fire_timers()
    t.deinit()
    simhw.fire_timers()
    assert fired == [1, 1]
    import rp2
    rp2.country('DE')
    assert rp2.country() == 'DE' and network.country() == 'DE'
    simhw.reset()
    assert simhw.calls == [] and simhw.reset_cause == machine.PWRON_RESET


def test_wdt_resets_the_board_when_fed_late_and_its_register_stops_it():
    simhw.reset()
    simhw.manual_clock()
    try:
        wdt = machine.WDT(timeout=1000)
        simhw.advance(1000)
        wdt.feed()
        simhw.advance(1001)
        simhw.wdt_expired()  # the hardware needs no feed to reset the board
    except SystemExit as e:
        assert 'not fed for 1001 ms' in str(e), e
    else:
        raise AssertionError('a feed 1001 ms after the last one, timeout 1000 ms: the board had reset')
    assert simhw.calls == [('wdt_reset', 1001)] and machine.reset_cause() == machine.WDT_RESET, simhw.calls
    wdt = machine.WDT(timeout=1000)
    assert machine.mem32[0x40058000] & (1 << 30)
    machine.mem32[0x40058000] &= ~(1 << 30)
    simhw.advance(5000)
    wdt.feed()
    assert len(simhw.calls) == 1, 'a stopped watchdog resets nothing'
    simhw.manual_clock(False)


def test_populate_puts_a_device_behind_every_configured_sensor():
    simhw.reset()
    import onewire
    cfg = {'sensors': [
        {'name': 'air', 'driver': 'aht10'},
        {'name': 't2', 'driver': 'tmp102', 'address': '0x49'},
        {'name': 'gone', 'driver': 'tmp102', 'bus': 0, 'address': 0x4A},
        {'name': 'fan', 'driver': 'emc2101', 'bus': 1},
        {'name': 'plate', 'driver': 'pt100_ads1115', 'address': 0x4B, 'options': {'channel': 2}},
        {'name': 'probe', 'driver': 'ds18b20', 'options': {'pin': 15}},
        {'name': 'room', 'driver': 'dht22', 'options': {'pin': 7}},
        {'name': 'cpu', 'driver': 'chip_temp'},
    ], 'sim': {'absent': [{'bus': 0, 'address': 0x4A}]}}
    simchips.populate(cfg)
    assert I2C(0).scan() == [0x38, 0x49, 0x4B]
    assert I2C(1).scan() == [0x4C]
    assert simhw.chip(0, 0x4B).channel == 2
    assert len(onewire.OneWire(Pin(15)).scan()) == 1
    import dht
    d = dht.DHT22(Pin(7))
    d.measure()
    assert abs(d.temperature() - 21) < 1e-9

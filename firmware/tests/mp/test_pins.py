# Pins as the real boards have them (tether/boards): the Pico W's WiFi-chip lines, the ESP32's
# flash, console, input-only and strapping pins, the RP2040's shared PWM slices and channels, each
# port's PWM frequency range and rounding, I2C pins per bus, and the ESP32's calibrated ADC. The
# shims (simports) do what MicroPython 1.27's rp2 and esp32 ports do, so each refusal here is one
# the firmware must make itself.
import simhw
import simports
from machine import I2C, PWM, Pin
from tether import config
from tether.board import Board
from tether.boards import esp32, pico_w
from tether.dispatcher import Dispatcher
from tether.start import start_board
from manual_clock import ManualClock
from test_core import Client
from test_drivers import _raises


async def _board(raw=None, support=pico_w):
    simhw.reset()
    if support is esp32:
        simports.use_port('esp32')
    raw = raw or {}
    raw.setdefault('auth', 'none')
    raw.setdefault('max_lease_s', 60)
    b = Board(config.normalize(raw, support, 'config', lambda w: None), ManualClock(), support)
    await start_board(b)
    d = Dispatcher(b)
    return b, d, Client(d)


def _config_problems(raw, support):
    raw.setdefault('auth', 'none')
    warnings = []
    try:
        config.normalize(raw, support, 'config', warnings.append)
    except config.ConfigError as e:
        return str(e), warnings
    return '', warnings


def _error(r, code, *words):
    assert r['ok'] is False, r
    assert r['error']['code'] == code, r['error']
    for w in words:
        assert w in r['error']['message'], (w, r['error'])


# --- Pico W: the CYW43's lines --------------------------------------------------------------

async def test_the_pico_ws_wifi_chip_pins_are_refused_with_what_to_use_instead():
    b, d, c = await _board()
    r = await d.handle({'action': 'setup_pin', 'pin': 23, 'mode': 'output'}, c)
    _error(r, 'pin_conflict', 'WiFi', 'Choose another pin')
    assert simhw.mode(23) is None, 'GP23 (WL_ON) was never touched'
    _error(await d.handle({'action': 'setup_pin', 'pin': 24, 'mode': 'input'}, c), 'pin_conflict', 'WiFi')
    _error(await d.handle({'action': 'pwm', 'pin': 29, 'freq': 1000, 'duty': 0}, c), 'pin_conflict', 'WiFi')
    _error(await d.handle({'action': 'write_pin', 'pin': 25, 'value': 0}, c), 'pin_conflict', 'WiFi')
    assert simports.wave(29) is None and simhw.mode(25) is None
    # Every other GPIO stays usable.
    assert (await d.handle({'action': 'setup_pin', 'pin': 22, 'mode': 'output'}, c))['ok'] is True


def test_a_pico_w_config_naming_a_wifi_chip_pin_does_not_start():
    why, _ = _config_problems({'pins': [{'pin': 25, 'mode': 'output'}], 'actuators': [{'name': 'fan', 'driver': 'pwm', 'pin': 23}],
                               'adc': {'pins': [26, 29]}}, pico_w)
    assert 'pins[0].pin: pin 25' in why and 'actuators[0].pin: pin 23' in why, why
    assert 'adc.pins[1]: pin 29' in why and 'adc.pins[0]' not in why, why


def test_a_plain_picos_gp25_is_its_led_and_only_warns():
    # A plain Pico (no W) has no WiFi chip: GP23/24/29 are ordinary, GP25 is the LED the status blinks on.
    for pin in (23, 24, 25, 29):
        pico_w.check_pin(pin, 'out', False)
    assert 'LED' in pico_w.pin_warning(25, False)
    assert pico_w.pin_warning(25, True) is None and pico_w.pin_warning(15, False) is None
    _raises(Exception, pico_w.check_pin, 25, 'out', True)


# --- ESP32 ----------------------------------------------------------------------------------

def test_esp32_flash_console_absent_and_input_only_pins_are_refused_at_config():
    why, _ = _config_problems({'pins': [{'pin': 6, 'mode': 'input'}, {'pin': 1, 'mode': 'output'}, {'pin': 34, 'mode': 'input'},
                                        {'pin': 20, 'mode': 'input'}],
                               'actuators': [{'name': 'valve', 'driver': 'digital', 'pin': 35}, {'name': 'fan', 'driver': 'pwm', 'pin': 39}],
                               'i2c': [{'bus': 0, 'sda': 36, 'scl': 22}]}, esp32)
    assert 'pins[0].pin: GPIO6 is wired to the ESP32 module\'s flash' in why, why
    assert 'pins[1].pin: GPIO1 is the ESP32\'s USB console' in why, why
    assert 'pins[2]' not in why, 'an input-only pin is a fine input: ' + why
    assert 'pins[3].pin: pin: an ESP32 has no GPIO20' in why, why
    assert 'actuators[0].pin: GPIO35 of an ESP32 is input-only' in why and 'actuators[1].pin: GPIO39' in why, why
    assert 'i2c[0].sda: GPIO36 of an ESP32 is input-only' in why, why


def test_esp32_strapping_pins_start_with_a_warning():
    why, warnings = _config_problems({'pins': [{'pin': 12, 'mode': 'output'}, {'pin': 2, 'mode': 'output'}, {'pin': 4, 'mode': 'output'}]}, esp32)
    assert why == '', why
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith('pins[0].pin: GPIO12') and '1.8 V flash' in warnings[0], warnings
    assert warnings[1].startswith('pins[1].pin: GPIO2') and 'on-board LED' in warnings[1], warnings


async def test_esp32_requests_on_reserved_or_input_only_pins_get_coded_errors():
    b, d, c = await _board(support=esp32)
    _error(await d.handle({'action': 'setup_pin', 'pin': 7, 'mode': 'output'}, c), 'pin_conflict', 'flash')
    _error(await d.handle({'action': 'setup_pin', 'pin': 3, 'mode': 'input'}, c), 'pin_conflict', 'console')
    _error(await d.handle({'action': 'setup_pin', 'pin': 34, 'mode': 'output'}, c), 'unsupported', 'input-only', 'GPIO0-33')
    _error(await d.handle({'action': 'pwm', 'pin': 36, 'freq': 1000, 'duty': 0}, c), 'unsupported', 'input-only')
    assert (await d.handle({'action': 'setup_pin', 'pin': 34, 'mode': 'input'}, c))['ok'] is True


# --- rp2 PWM slices -------------------------------------------------------------------------

async def test_two_pwm_pins_of_one_rp2_slice_cannot_run_two_frequencies():
    b, d, c = await _board()
    assert (await d.handle({'action': 'pwm', 'pin': 0, 'freq': 1000, 'duty': 0}, c))['ok'] is True
    r = await d.handle({'action': 'pwm', 'pin': 1, 'freq': 2000, 'duty': 0}, c)
    _error(r, 'pin_conflict', 'slice 0', '1000 Hz')
    assert round(simports.wave(0)[0]) == 1000, 'GP0 keeps its frequency: %r' % (simports.wave(0),)
    assert 1 not in b.pins
    assert (await d.handle({'action': 'pwm', 'pin': 1, 'freq': 1000, 'duty': 0}, c))['ok'] is True
    r = await d.handle({'action': 'pwm', 'pin': 0, 'freq': 2000, 'duty': 0}, c)
    _error(r, 'pin_conflict', 'slice 0')


async def test_gpn_and_gpn_plus_16_are_one_pwm_output():
    b, d, c = await _board()
    assert (await d.handle({'action': 'pwm', 'pin': 2, 'freq': 1000, 'duty': 0}, c))['ok'] is True
    _error(await d.handle({'action': 'pwm', 'pin': 18, 'freq': 1000, 'duty': 0}, c), 'pin_conflict', 'same RP2040 PWM output as pin 2')
    assert simports.wave(18) is None and simports.wave(2) is not None


async def test_releasing_one_pwm_output_keeps_its_slice_partner_running():
    b, d, c = await _board()
    await d.handle({'action': 'pwm', 'pin': 4, 'freq': 5000, 'duty': 0}, c)
    await d.handle({'action': 'pwm', 'pin': 5, 'freq': 5000, 'duty': 0}, c)
    await d.handle({'action': 'pwm', 'pin': 4, 'freq': 5000, 'duty': 0.5, 'timeout': 10}, c)
    # setup_pin on GP5 deinits its PWM, which stops the whole slice on an RP2040.
    assert (await d.handle({'action': 'setup_pin', 'pin': 5, 'mode': 'input'}, c))['ok'] is True
    w = simports.wave(4)
    assert w is not None and round(w[0]) == 5000 and w[1] == 0.5, 'GP4 still runs: %r' % (w,)


def test_a_config_with_pwm_actuators_sharing_a_slice_or_channel_does_not_start():
    why, _ = _config_problems({'actuators': [{'name': 'a', 'driver': 'pwm', 'pin': 6, 'options': {'freq': 1000}},
                                             {'name': 'b', 'driver': 'pwm', 'pin': 7, 'options': {'freq': 25000}},
                                             {'name': 'c', 'driver': 'pwm', 'pin': 22, 'options': {'freq': 1000}}]}, pico_w)
    assert 'actuators[1].options.freq: pin 7 shares an RP2040 PWM slice with pin 6' in why, why
    assert 'actuators[2].options.freq: pin 22 is the same RP2040 PWM output as pin 6' in why, why
    ok, _ = _config_problems({'actuators': [{'name': 'a', 'driver': 'pwm', 'pin': 6}, {'name': 'b', 'driver': 'pwm', 'pin': 7}]}, pico_w)
    assert ok == '', 'one slice at one frequency is fine: ' + ok


# --- PWM frequencies: the port's range, and what the pin really does -----------------------

async def test_a_pwm_frequency_the_rp2_cannot_make_is_bad_field_with_the_range():
    b, d, c = await _board()
    r = await d.handle({'action': 'pwm', 'pin': 8, 'freq': 7, 'duty': 0}, c)
    _error(r, 'bad_field', '8 to 62500000 Hz')
    assert 8 not in b.pins
    why, _ = _config_problems({'actuators': [{'name': 'a', 'driver': 'pwm', 'pin': 6, 'options': {'freq': 5}}]}, pico_w)
    assert 'actuators[0].options.freq: freq: 5 Hz on pin 6 is outside' in why, why


async def test_the_pwm_reply_and_state_report_what_the_rp2_pin_runs_at():
    b, d, c = await _board()
    r = await d.handle({'action': 'pwm', 'pin': 9, 'freq': 40000000, 'duty': 0.5, 'timeout': 5}, c)
    # 125 MHz / 3 counts: 41.67 MHz, and 2 of the 3 counts high.
    assert r['ok'] is True and r['freq'] == 41666667 and r['duty'] == 0.6667, r
    hz, duty = simports.wave(9)
    assert abs(hz - 41666666.7) < 1 and abs(duty - 2 / 3) < 1e-9, (hz, duty)
    pin9 = [p for p in b.state()['pins'] if p['pin'] == 9][0]
    assert pin9['freq'] == 41666667 and pin9['duty'] == 0.6667, pin9
    assert r['lease']['value'] == 0.5, 'the lease holds what was asked'
    # Where the hardware is exact, the reply is what was asked.
    r = await d.handle({'action': 'pwm', 'pin': 10, 'freq': 1000, 'duty': 0.3, 'timeout': 5}, c)
    assert r['freq'] == 1000 and r['duty'] == 0.3, r


async def test_the_esp32s_ledc_rounds_too_and_runs_out_of_timers():
    b, d, c = await _board(support=esp32)
    r = await d.handle({'action': 'pwm', 'pin': 13, 'freq': 3000000, 'duty': 0.3, 'timeout': 5}, c)
    # 80 MHz / 3 MHz: a 4-bit duty and a divider of 427/256.
    assert r['ok'] is True and r['freq'] == 2997658 and r['duty'] == 0.25, r
    for i, pin in enumerate((14, 16, 17, 18, 19, 21, 22)):
        assert (await d.handle({'action': 'pwm', 'pin': pin, 'freq': 100 + i, 'duty': 0}, c))['ok'] is True
    r = await d.handle({'action': 'pwm', 'pin': 23, 'freq': 5000, 'duty': 0}, c)
    _error(r, 'limit_exceeded', 'used up', 'a frequency already running')
    assert (await d.handle({'action': 'pwm', 'pin': 23, 'freq': 100, 'duty': 0}, c))['ok'] is True, 'a frequency already in use shares its timer'
    why, _ = _config_problems({'actuators': [{'name': 'p%d' % p, 'driver': 'pwm', 'pin': p, 'options': {'freq': 100 + p}}
                                             for p in (13, 14, 16, 17, 18, 19, 21, 22, 23)]}, esp32)
    assert 'actuators: more than 8 different PWM frequencies' in why, why


# --- I2C pins and the ESP32 ADC -------------------------------------------------------------

def test_rp2_i2c_pins_must_suit_the_bus():
    why, _ = _config_problems({'i2c': [{'bus': 0, 'sda': 5, 'scl': 4}, {'bus': 1, 'sda': 2, 'scl': 3}]}, pico_w)
    assert 'i2c[0].sda: GP5 cannot be SDA of I2C bus 0' in why and 'GP0, 4, 8, 12, 16, 20, 24, 28' in why, why
    assert 'i2c[0].scl: GP4 cannot be SCL of I2C bus 0' in why and 'i2c[1]' not in why, why
    simhw.reset()
    e = _raises(ValueError, lambda: I2C(0, scl=Pin(4), sda=Pin(5)))
    assert str(e) == 'bad SCL pin', e
    e = _raises(ValueError, lambda: I2C(1, scl=Pin(3), sda=Pin(4)))
    assert str(e) == 'bad SDA pin', e


async def test_esp32_read_adc_reports_the_calibrated_voltage():
    b, d, c = await _board({'adc': {'pins': [34]}}, esp32)
    simports.set_adc_volts(34, 1.0)
    r = await d.handle({'action': 'read_adc', 'pin': 34}, c)
    assert r['ok'] is True and r['volts'] == 1.0, r
    simports.set_adc_volts(34, 3.2)
    r = await d.handle({'action': 'read_adc', 'pin': 34}, c)
    assert r['volts'] == 3.2 and r['raw'] == 65535, 'the raw reading clips; the calibrated one does not: %r' % (r,)


# --- the shims themselves -------------------------------------------------------------------

def test_rp2_pwm_shim_divides_the_clock_as_the_port_does():
    simhw.reset()
    p = PWM(Pin(12), freq=40000000, duty_u16=32768)
    assert (p.freq(), p.duty_u16()) == (41666667, 43690), (p.freq(), p.duty_u16())
    assert str(_raises(ValueError, p.freq, 7)) == 'freq too small'
    p.freq(8)
    q = PWM(Pin(13), freq=8, duty_u16=0)
    p.deinit()
    assert simports.wave(13) is None, 'deinit stops the slice for both channels'
    q.duty_u16(100)
    assert simports.wave(13) is not None, 'a duty write starts the slice again'
    assert simports.wave(12) is not None, 'GP12 too: it is still in its PWM function'
    _raises(TypeError, lambda: PWM(Pin(14), freq=1000.0))


def test_esp32_ledc_shim_limits():
    simhw.reset()
    simports.use_port('esp32')
    p = PWM(Pin(4), freq=1000, duty_u16=65535)
    assert (p.freq(), p.duty_u16()) == (998, 65535), (p.freq(), p.duty_u16())
    assert 'from 1Hz to 40MHz' in str(_raises(ValueError, p.freq, 40000001))
    p.freq(40000000)
    p.duty_u16(20000)
    assert p.duty_u16() == 0 and simports.wave(4) == (40000000.0, 0.0), '1-bit duty at 40 MHz'
    p.deinit()
    _raises(RuntimeError, p.freq)
    assert str(_raises(ValueError, Pin, 40)) == 'invalid pin'
    from machine import ADC
    _raises(ValueError, ADC, Pin(5))
    simports.set_adc_volts(Pin(33), 0.1)
    assert ADC(Pin(33)).read_u16() == 0 and ADC(Pin(33)).read_uv() == 100000

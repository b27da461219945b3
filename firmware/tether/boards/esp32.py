# ESP32 DevKit (ESP32-WROOM-32); the S2/S3/C3 variants answer the same calls.
from tether.boards import machine_name
from tether.errors import ProtoError, SensorFault, text

NAME = machine_name('ESP32 DevKit', ('ESP32',))
PLATFORM = 'esp32'
PIN_COUNT = 40
LED = 2
LED_GPIO = LED  # which a config may take (Board._take_led)
# ADC1 only: ADC2 is unusable while Wi-Fi runs.
ADC_PINS = (32, 33, 34, 35, 36, 37, 38, 39)
VREF = 3.3
# GPIO21/22: the DevKit's customary I2C pins (the Arduino core's defaults).
DEFAULT_I2C = {'bus': 0, 'sda': 21, 'scl': 22}
# GPIOs an ESP32 (WROOM/WROVER) does not have.
ABSENT = b'\x14\x18\x1c\x1d\x1e\x1f'
# Sampled at reset to choose the boot mode, flash voltage and boot log (datasheet, strapping
# pins): usable, but whatever is wired to them must let them sit at their default during reset.
STRAPPING = b'\x00\x02\x05\x0c\x0f'


def check_pin(pin, use):
    # Raises when this board cannot give the pin to use ('in', 'out' or 'pwm').
    if pin in ABSENT:
        raise ProtoError('bad_field', 'pin_absent_esp32', pin)
    if 6 <= pin <= 11:
        raise ProtoError('pin_conflict', 'pin_flash', pin)
    if pin == 1 or pin == 3:
        # UART0: the USB console, which mpremote and tether install use.
        raise ProtoError('pin_conflict', 'pin_console', pin)
    if pin >= 34 and use != 'in':
        raise ProtoError('unsupported', 'pin_input_only', pin)


def pin_warning(pin):
    # Text for the console when a config takes a pin that works but does something else too.
    if pin == 12:
        return text('pin_strap_12', (pin,))
    if pin in STRAPPING:
        return text('pin_strapping', (pin, ' and the on-board LED' if pin == LED else ''))


def check_i2c_pin(bus, pin, scl):
    # Any GPIO that can drive the line: the pin checks above cover it (the port does not check,
    # and a bus on an input-only pin stays silent).
    check_pin(pin, 'out')


def pwm_channel(pin):
    # LEDC: every pin gets a channel of its own (16), and channels of one frequency share a timer.
    return None


# LEDC timers (4 high-speed, 4 low-speed): at most 8 different PWM frequencies at once.
PWM_TIMERS = 8


def pwm_range():
    # ports/esp32/machine_pwm.c: 1 Hz to 40 MHz (half the 80 MHz APB clock); at high frequencies
    # the duty has few steps (1 bit at 40 MHz).
    return 1, 40000000



def chip_temp_c():
    import esp32
    read = getattr(esp32, 'mcu_temperature', None)
    if read is not None:
        t = read()
    else:
        # The original ESP32 reports raw_temperature() in °F.
        t = (esp32.raw_temperature() - 32) / 1.8
    if t < -60 or t > 150:
        raise SensorFault('the internal sensor reads %.1f °C, which cannot be right' % t)
    return t

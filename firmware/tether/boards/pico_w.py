# Raspberry Pi Pico W (RP2040; a Pico 2 W's RP2350 answers the same calls).
from tether.boards import machine_name
from tether.errors import ProtoError, SensorFault, text

NAME = machine_name('Raspberry Pi Pico W', ('Pico', 'RP2'))
PLATFORM = 'rp2'
PIN_COUNT = 30
LED = 'LED'  # on the CYW43 Wi-Fi chip, not a GPIO of the RP2040
ADC_PINS = (26, 27, 28)
VREF = 3.3
# GP4/GP5 are I2C0 on the Pico pinout and what the demo board config uses.
DEFAULT_I2C = {'bus': 0, 'sda': 4, 'scl': 5}
# machine.deepsleep raises ValueError('sleep too long') from here on: the rp2 port wakes on a
# 32-bit microsecond timer alarm (ports/rp2/modmachine.c).
DEEP_SLEEP_MAX_MS = 4294966
# A Pico W's GP23 (WL_ON), GP24 (WL_D), GP25 (WL_CS) and GP29 (WL_CLK) are the CYW43's power and
# SPI lines: driving one switches the WiFi off or garbles it. A plain Pico has its LED on GP25
# (machine.Pin('LED')), which the status LED blinks.
WIFI_PINS = b'\x17\x18\x19\x1d'
WIRELESS = NAME.endswith(' W')
# The status LED's GPIO, which a config may take (Board._take_led): none on a Pico W.
LED_GPIO = None if WIRELESS else 25


def check_pin(pin, use, wireless=WIRELESS):
    # Raises when this board cannot give the pin to use ('in', 'out' or 'pwm').
    if wireless and pin in WIFI_PINS:
        raise ProtoError('pin_conflict', 'pin_wifi_chip', pin)


def pin_warning(pin, wireless=WIRELESS):
    # Text for the console when a config takes a pin that works but does something else too.
    if pin == 25 and not wireless:
        return text('pin_is_led', (pin,))


def check_i2c_pin(bus, pin, scl):
    # ports/rp2/machine_i2c.h: SDA is an even GPIO, SCL an odd one, and bit 1 is the bus number.
    if (pin & 1) != scl or (pin >> 1) & 1 != bus:
        first = bus * 2 + scl
        raise ProtoError('bad_field', 'i2c_pin_rp2', pin, 'SCL' if scl else 'SDA', bus, ', '.join(str(p) for p in range(first, 30, 4)))


def pwm_channel(pin):
    # RP2040/RP2350 (GPIO 0-29): slice (pin >> 1) & 7, channel A or B by pin & 1. GPn and GPn+16
    # are the same channel, and a slice (channel >> 1) has one frequency.
    return pin & 15


def pwm_range():
    # ports/rp2/machine_pwm.c: the lowest frequency is where the slice's 8.4 divider passes 255
    # with TOP at 65534 (8 Hz at 125 MHz); above half the clock, TOP is 0 and the pin never toggles.
    from machine import freq
    f = freq()
    return -(-16 * f // (65534 * 4095)), f // 2


_adc = None


def chip_temp_c():
    # RP2040 datasheet §4.9.5 (temperature sensor); the range check is the TS chip_temp driver's.
    global _adc
    if _adc is None:
        from machine import ADC
        _adc = ADC(getattr(ADC, 'CORE_TEMP', 4))
    raw = _adc.read_u16()
    t = 27 - (raw * VREF / 65535 - 0.706) / 0.001721
    # The RP2040 is specified for -40..85 °C; anything far outside is a bad reading.
    if t < -60 or t > 150:
        raise SensorFault(text('chip_temp_wrong', (raw, t)))
    return t

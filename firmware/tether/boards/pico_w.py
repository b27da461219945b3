# Raspberry Pi Pico W (RP2040; a Pico 2 W's RP2350 answers the same calls).
from tether.boards import machine_name
from tether.errors import SensorFault

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

_adc = None


def chip_temp_c():
    # sensors.md §RP2040 on-chip temperature; the range check is the TS chip_temp driver's.
    global _adc
    if _adc is None:
        from machine import ADC
        _adc = ADC(getattr(ADC, 'CORE_TEMP', 4))
    raw = _adc.read_u16()
    t = 27 - (raw * VREF / 65535 - 0.706) / 0.001721
    # The RP2040 is specified for -40..85 °C; anything far outside is a bad reading.
    if t < -60 or t > 150:
        raise SensorFault('the internal channel reads %d (%.1f °C), which cannot be right; check adc.vref in the config' % (raw, t))
    return t

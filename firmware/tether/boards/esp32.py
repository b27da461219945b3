# ESP32 DevKit (ESP32-WROOM-32); the S2/S3/C3 variants answer the same calls.
from tether.boards import machine_name
from tether.errors import SensorFault

NAME = machine_name('ESP32 DevKit', ('ESP32',))
PLATFORM = 'esp32'
PIN_COUNT = 40
LED = 2
# ADC1 only: ADC2 is unusable while Wi-Fi runs.
ADC_PINS = (32, 33, 34, 35, 36, 37, 38, 39)
VREF = 3.3
# GPIO21/22: the DevKit's customary I2C pins (the Arduino core's defaults).
DEFAULT_I2C = {'bus': 0, 'sda': 21, 'scl': 22}



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

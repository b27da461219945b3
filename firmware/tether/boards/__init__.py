# Board support: the few facts and calls that differ between the boards the firmware runs on.
# detect() picks the module from the port's machine string; the CPython shims model a Pico W,
# so anything unknown is treated as one.
import sys


def detect():
    m = getattr(sys.implementation, '_machine', '')
    if 'RP2' in m or 'Pico' in m:
        from tether.boards import pico_w as board
    elif 'ESP32' in m:
        from tether.boards import esp32 as board
    else:
        from tether.boards import pico_w as board
    return board

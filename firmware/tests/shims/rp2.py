# rp2 for tests: the bits of MicroPython's rp2 module the firmware touches.
import simhw


def country(code=None):
    # The Wi-Fi regulatory domain; 'XX' (worldwide) until set.
    if code is None:
        return simhw.country
    simhw.country = code


def bootsel_button():
    return 0


def dht_readinto(pin, buf):
    simhw.dht_readinto(pin, buf)

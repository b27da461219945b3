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


def machine_name(default, family, machine=None):
    # The board as the port names it ("Raspberry Pi Pico with RP2040" -> "Raspberry Pi Pico"):
    # one module serves a Pico and a Pico W, an ESP32 DevKit and other ESP32 boards, and
    # get_info must not call a plain Pico a Pico W. A machine not of the family (the shims, the
    # WebAssembly port) gets the default.
    if machine is None:
        machine = getattr(sys.implementation, '_machine', '')
    if not any(word in machine for word in family):
        return default
    return machine.split(' with ')[0].strip() or default


def check_pwm(support, pin, freq, others):
    # A PWM output at freq on pin, beside the PWM outputs others [(pin, freq)]: within the
    # port's range, and on rp2 on a channel of its own and a slice whose frequency it keeps.
    from tether.errors import ProtoError
    lo, hi = support.pwm_range()
    if not lo <= freq <= hi:
        raise ProtoError('bad_field', 'pwm_freq_range', freq, pin, lo, hi)
    ch = support.pwm_channel(pin)
    if ch is None:
        return
    for q, g in others:
        c = support.pwm_channel(q)
        if c == ch:
            raise ProtoError('pin_conflict', 'pwm_same_channel', pin, q, ch >> 1, 'AB'[ch & 1])
        if c >> 1 == ch >> 1 and g != freq:
            raise ProtoError('pin_conflict', 'pwm_slice_freq', pin, q, ch >> 1, g, freq, g)

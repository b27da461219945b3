# Helpers shared by the drivers: option checks (the TS option schemas are strict, so these are
# too) and the TS drivers' rounding.
import math


def check_options(driver, given, allowed=()):
    # The options dict, after refusing keys the driver does not know.
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ValueError('%s: options must be an object, not %r' % (driver, given))
    for key in sorted(given):
        if key not in allowed:
            takes = ('it takes ' + ', '.join(allowed)) if allowed else 'it takes none'
            raise ValueError('%s: unknown option "%s"; %s' % (driver, key, takes))
    return given


def pin_option(driver, opts):
    pin = opts.get('pin')
    if pin is None:
        raise ValueError('%s: options.pin is required: the GPIO number of the data line' % driver)
    if isinstance(pin, bool) or not isinstance(pin, int) or pin < 0:
        raise ValueError('%s: options.pin must be a GPIO number, not %r' % (driver, pin))
    return pin


def round_to(x, scale):
    # Math.round(x * scale) / scale, as the TS drivers round: halves go up, also below zero
    # (Python's round() would go to even).
    return math.floor(x * scale + 0.5) / scale


def hexb(b):
    return '0x%02x' % b

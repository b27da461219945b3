# Helpers shared by the drivers: option checks (the TS option schemas are strict, so these are
# too) and the TS drivers' rounding.
import math
from tether.errors import text


def check_options(driver, given, allowed=()):
    # The options dict, after refusing keys the driver does not know.
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ValueError(text('opts_not_object', (driver, given)))
    for key in sorted(given):
        if key not in allowed:
            raise ValueError(text('opt_unknown', (driver, key, ', '.join(allowed) or 'none')))
    return given


def pin_option(driver, opts):
    pin = opts.get('pin')
    if pin is None:
        raise ValueError(text('opt_pin_required', (driver,)))
    if isinstance(pin, bool) or not isinstance(pin, int) or pin < 0:
        raise ValueError(text('opt_pin_type', (driver, pin)))
    return pin


def round_to(x, scale):
    # Math.round(x * scale) / scale, as the TS drivers round: halves go up, also below zero
    # (Python's round() would go to even).
    return math.floor(x * scale + 0.5) / scale


def hexb(b):
    return '0x%02x' % b

# Tether firmware for MicroPython boards (Pico W, ESP32). VERSION is what get_version,
# get_info and the hub's hello report; an OTA update changes it.
VERSION = '0.1.0'
PROTOCOL = 1


def drop(name):
    # A module used for a moment (tether/start.py, tether/extras.py): out of the module table and
    # the package, its bytecode goes back to the heap once the caller lets go of it.
    import sys
    sys.modules.pop('tether.' + name, None)
    g = globals()
    if name in g:
        del g[name]

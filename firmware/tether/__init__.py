# Tether firmware for MicroPython boards (Pico W, ESP32). VERSION is what get_version,
# get_info and the hub's hello report; an OTA update changes it.
VERSION = '0.1.0'
PROTOCOL = 1

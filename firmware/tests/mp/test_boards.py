# Board support (tether/boards): the board's name as the port gives it, so get_info tells a plain
# Pico from a Pico W and names the ESP32 board it runs on.
from tether.boards import machine_name
from tether.boards import pico_w


def test_a_plain_pico_is_not_called_a_pico_w():
    fam = ('Pico', 'RP2')
    assert machine_name('Raspberry Pi Pico W', fam, 'Raspberry Pi Pico with RP2040') == 'Raspberry Pi Pico'
    assert machine_name('Raspberry Pi Pico W', fam, 'Raspberry Pi Pico W with RP2040') == 'Raspberry Pi Pico W'
    assert machine_name('Raspberry Pi Pico W', fam, 'Raspberry Pi Pico 2 W with RP2350') == 'Raspberry Pi Pico 2 W'


def test_an_esp32_board_is_named_as_its_port_names_it():
    assert machine_name('ESP32 DevKit', ('ESP32',), 'Generic ESP32 module with ESP32') == 'Generic ESP32 module'
    assert machine_name('ESP32 DevKit', ('ESP32',), 'ESP32S3 module with ESP32S3') == 'ESP32S3 module'


def test_a_machine_of_another_family_gets_the_modules_default():
    # The shims and the WebAssembly port are not boards: they keep the board module's own name.
    assert machine_name('Raspberry Pi Pico W', ('Pico', 'RP2'), 'JavaScript with Emscripten') == 'Raspberry Pi Pico W'
    assert machine_name('Raspberry Pi Pico W', ('Pico', 'RP2'), '') == 'Raspberry Pi Pico W'
    assert pico_w.NAME == 'Raspberry Pi Pico W', pico_w.NAME

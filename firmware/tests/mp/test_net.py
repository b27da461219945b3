# WiFi (tether/net.py) and the status LED (tether/led.py) under both interpreters, on the
# network shim's simulated access point. Net runs on real time: its polls are 100 ms apart and
# its first retry comes within 1 s, so these tests take a few seconds.
import asyncio
import network
import simhw
from tether import led as led_mod
from tether.led import Led, PATTERNS
from tether.net import Net


class Shown:
    # Stands in for the LED: what the network asked it to show, in order.
    def __init__(self):
        self.names = []

    def show(self, name):
        self.names.append(name)


async def _until(check, ms):
    waited = 0
    while not check():
        assert waited < ms, 'not within %d ms' % ms
        await asyncio.sleep_ms(20)
        waited += 20


async def test_net_connects_and_comes_back_after_the_access_point_drops_without_a_reset():
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=2, ip='10.0.0.7')
    shown = Shown()
    net = Net({'ssid': 'lab', 'password': 'secret123', 'hostname': 'tether-pico'}, shown)
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(net.up, 2000)
        assert shown.names == ['connecting'], shown.names
        assert network.hostname() == 'tether-pico'
        info = net.info()
        assert info['wifi_connected'] is True and info['ip'] == '10.0.0.7' and info['rssi'] == -55, info
        # The shim's link comes up on status queries, this test's included: give the join loop
        # (100 ms polls) time to see it up too before the access point goes away.
        await asyncio.sleep_ms(300)
        simhw.wifi_drop()
        assert not net.up()
        await _until(net.up, 3000)
        assert net.attempts == 2, net.attempts
        assert shown.names == ['connecting', 'connecting'], shown.names
        assert simhw.calls == [], 'no reset: %r' % simhw.calls
    finally:
        task.cancel()


async def test_net_survives_the_oserror_cyw43_raises_when_a_join_cannot_start():
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=0)
    simhw.wifi_join_fails(5, 5)  # -EIO from cyw43_wifi_join, twice
    net = Net({'ssid': 'lab', 'password': 'secret123'}, Shown())
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(net.up, 6000)
        assert net.attempts == 3, net.attempts
        assert not task.done(), 'keep_up is still running'
    finally:
        task.cancel()


async def test_net_sets_the_country_before_the_interface_comes_up_and_turns_power_saving_off():
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=0)
    net = Net({'ssid': 'lab', 'password': 'secret123', 'country': 'DE'}, Shown())
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(net.up, 2000)
        state = simhw.wifi_state()
        assert state['country_at_up'] == 'DE', state
        assert state['pm'] == network.WLAN.PM_NONE, state
    finally:
        task.cancel()
    simhw.reset()
    simhw.wifi(ssid='lab', key='secret123', polls=0)
    net = Net({'ssid': 'lab', 'password': 'secret123', 'power_save': True}, Shown())
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(net.up, 2000)
        assert simhw.wifi_state()['pm'] == network.WLAN.PM_PERFORMANCE, 'power_save: true keeps the chip default'
    finally:
        task.cancel()


async def test_net_retries_a_wrong_password_until_the_access_point_takes_it():
    simhw.reset()
    simhw.wifi(ssid='lab', key='new-password', polls=0)
    net = Net({'ssid': 'lab', 'password': 'old-password'}, Shown())
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(lambda: net.last_error is not None, 1000)
        assert net.last_error == 'wrong password', net.last_error
        assert not net.up()
        simhw.wifi(ssid='lab', key='old-password', polls=0)  # the access point is set back
        await _until(net.up, 3000)
        assert net.last_error is None and net.attempts >= 2, (net.last_error, net.attempts)
    finally:
        task.cancel()


async def test_net_names_a_missing_access_point_and_uses_a_static_address():
    simhw.reset()
    simhw.wifi(ssid='lab', key='k', present=False, polls=0)
    net = Net({'ssid': 'lab', 'password': 'k', 'static': {'ip': '192.168.4.50', 'gateway': '192.168.4.1'}}, Shown())
    task = asyncio.create_task(net.keep_up())
    try:
        await _until(lambda: net.last_error is not None, 1000)
        assert net.last_error == 'no access point named "lab"', net.last_error
        simhw.wifi(ssid='lab', key='k', polls=0)
        await _until(net.up, 3000)
        assert net.info()['ip'] == '192.168.4.50', net.info()
        assert simhw.wifi_state()['static'][0] == '192.168.4.50'
    finally:
        task.cancel()


async def test_net_reads_an_esp32s_status_codes():
    # An ESP32 numbers its states 1000/1001/1010 and answers a failed join with ESP-IDF's reason:
    # a wrong WPA2 password shows only once its driver stops reconnecting by itself.
    import simports
    simhw.reset()
    simports.use_port('esp32')
    try:
        assert network.STAT_IDLE == 1000 and network.STAT_NO_AP_FOUND == 201
        simhw.wifi(ssid='lab', key='right-password', polls=2)
        net = Net({'ssid': 'lab', 'password': 'wrong-password'}, Shown())
        task = asyncio.create_task(net.keep_up())
        try:
            await _until(lambda: net.last_error is not None, 1000)
            assert net.last_error.startswith('the access point refused the connection (status 15'), net.last_error
        finally:
            task.cancel()
        simhw.wifi(ssid='lab', key='k', present=False, polls=0)
        net = Net({'ssid': 'lab', 'password': 'k'}, Shown())
        task = asyncio.create_task(net.keep_up())
        try:
            await _until(lambda: net.last_error is not None, 1000)
            assert net.last_error == 'no access point named "lab"', net.last_error
            simhw.wifi(ssid='lab', key='k', polls=1)
            await _until(net.up, 3000)
        finally:
            task.cancel()
    finally:
        simhw.reset()
    assert network.STAT_IDLE == 0, 'back to the Pico W after a reset'


class _Enough(Exception):
    pass


class _Steps:
    # Stands in for asyncio in tether/led.py: each sleep records (LED level, ms) at once, and a
    # callback may change the pattern after a given step.
    def __init__(self, pin, count, at=None, then=None):
        self.pin = pin
        self.count = count
        self.at = at
        self.then = then
        self.steps = []

    async def sleep_ms(self, ms):
        self.steps.append((simhw.level(self.pin), ms))
        if len(self.steps) == self.at:
            self.then()
        if len(self.steps) == self.count:
            raise _Enough()


async def _run_led(led, steps):
    real = led_mod.asyncio
    led_mod.asyncio = steps
    try:
        await led.run()
    except _Enough:
        pass
    finally:
        led_mod.asyncio = real


async def test_led_blinks_each_state_pattern_and_switches_at_the_next_step():
    simhw.reset()
    led = Led(25)
    steps = _Steps(25, 8)
    await _run_led(led, steps)
    # connecting: 3 blinks of 100 ms, 200 ms apart, then 1 s off; and round again.
    assert steps.steps == [(1, 100), (0, 200), (1, 100), (0, 200), (1, 100), (0, 1000), (1, 100), (0, 200)], steps.steps
    led.show('idle')
    steps = _Steps(25, 5, at=3, then=lambda: led.show('error'))
    await _run_led(led, steps)
    # idle (1.5 s on, 1.5 s off) until the error: that pattern starts from its first step.
    assert steps.steps == [(1, 1500), (0, 1500), (1, 1500), (1, 600), (0, 300)], steps.steps
    led.show('active')
    steps = _Steps(25, 4)
    await _run_led(led, steps)
    assert steps.steps == [(1, 20), (0, 80), (1, 20), (0, 80)], steps.steps
    for name, pattern in PATTERNS.items():
        assert len(pattern) % 2 == 0 and all(ms > 0 for ms in pattern), name


async def test_led_without_a_usable_pin_still_runs():
    led = Led('NO_SUCH_PIN')
    assert led.pin is None
    steps = _Steps(25, 2)
    await _run_led(led, steps)
    assert [ms for _, ms in steps.steps] == [100, 200]

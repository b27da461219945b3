# WiFi from config/wifi.json: {"ssid", "password", "hostname"?, "country"?, "power_save"?,
# "static"?: {"ip", "netmask", "gateway", "dns"}}. Connects with backoff, forever, and again after
# a loss, without a reset: nothing the WiFi chip raises ends that.
import asyncio
import random
import network
from micropython import const
from tether.errors import text

CONNECT_MS = const(15000)
BACKOFF_MAX = const(30000)


def _retrying(err):
    print('wifi:', err, '- trying again')


class Net:
    def __init__(self, cfg, led):
        self.cfg = cfg
        self.led = led
        self.wlan = network.WLAN(network.STA_IF)
        self.attempts = 0
        self.last_error = None

    def up(self):
        return self.wlan.isconnected()

    async def keep_up(self):
        ceiling = 1000
        while True:
            if self.up():
                ceiling = 1000
                await asyncio.sleep_ms(1000)
                continue
            self.led.show('connecting')
            try:
                if await self._connect():
                    continue
            except OSError as e:
                # cyw43's connect() raises when the chip cannot start a join (busy, wedged);
                # esp32's when the driver refuses. Either is one more failed attempt.
                self.last_error = text('wifi_chip_refused', (e.args[0] if e.args else '?',))
                _retrying(self.last_error)
            # Full jitter: a house of boards that lost the same access point do not retry in step.
            await asyncio.sleep_ms(random.getrandbits(16) * ceiling // 65536)
            ceiling = min(BACKOFF_MAX, ceiling * 2)

    async def _connect(self):
        c = self.cfg
        w = self.wlan
        self.attempts += 1
        if c.get('hostname'):
            try:
                network.hostname(c['hostname'])
            except (AttributeError, ValueError, OSError):
                pass
        if c.get('country'):
            # The chip takes its channels and power limits from the country when the interface
            # comes up, so it is set before active(True).
            try:
                network.country(c['country'])
            except (AttributeError, ValueError, OSError):
                pass
        w.active(True)
        if not c.get('power_save', False):
            # A board that serves requests answers at once: the default power saving holds
            # packets for the next beacon, adding latency and losing some.
            try:
                w.config(pm=w.PM_NONE)
            except (AttributeError, ValueError, OSError):
                pass
        try:
            # An ESP32 retries a failed join by itself, for ever by default, and meanwhile answers
            # STAT_CONNECTING: one retry, then the reason shows and this loop's backoff decides.
            w.config(reconnects=1)
        except (ValueError, OSError, TypeError):
            pass
        static = c.get('static')
        if static:
            w.ifconfig((static['ip'], static.get('netmask', '255.255.255.0'), static['gateway'], static.get('dns', static['gateway'])))
        try:
            w.disconnect()
        except OSError:
            pass
        w.connect(c['ssid'], c.get('password', ''))
        waited = 0
        while waited < CONNECT_MS:
            if w.isconnected():
                self.last_error = None
                return True
            status = w.status()
            if status < network.STAT_IDLE:
                # A failure, in the port's own numbers: below cyw43's idle 0 (its positive states,
                # 2 "joined, no address yet" included, are progress), or an ESP32's disconnect
                # reasons, all below its idle 1000 (15: the WPA handshake timed out, most often a
                # wrong password).
                if status == network.STAT_WRONG_PASSWORD:
                    self.last_error = text('wifi_password')
                elif status == network.STAT_NO_AP_FOUND:
                    self.last_error = text('wifi_no_ap', (c['ssid'],))
                else:
                    self.last_error = text('wifi_refused', (status,))
                break
            await asyncio.sleep_ms(100)
            waited += 100
        else:
            self.last_error = text('wifi_timeout', (CONNECT_MS // 1000,))
        _retrying(self.last_error)
        return False

    def info(self):
        w = self.wlan
        d = {'wifi_connected': w.isconnected()}
        try:
            d['ip'] = w.ifconfig()[0]
            d['mac'] = ':'.join('%02x' % b for b in w.config('mac'))
            d['rssi'] = w.status('rssi')
        except (OSError, ValueError, TypeError):
            pass
        return d

# network for tests: a Pico W's cyw43 WLAN, whose access point simhw.wifi() sets up.
import simhw

STA_IF = 0
AP_IF = 1
# WLAN.status() as each port reports it. The shim keeps the station's state in cyw43's terms
# (simhw.STAT_*) and answers in the simulated port's. A Pico W: cyw43's link states
# (extmod/network_cyw43.c). An ESP32: STAT_IDLE/CONNECTING/GOT_IP are 1000/1001/1010 and the
# failures are ESP-IDF's disconnect reasons (ports/esp32/modnetwork.h, network_wlan.c): no AP 201,
# a refused authentication 202. A wrong WPA2 password usually ends in reason 15 (the 4-way
# handshake timed out), which status() does not name: while the driver keeps reconnecting
# (config reconnects=0, the default) it answers STAT_CONNECTING, and 15 itself only once the
# reconnects set with config(reconnects=n) are used up.
_PORT_STATUS = {
    'rp2': {'STAT_IDLE': simhw.STAT_IDLE, 'STAT_CONNECTING': simhw.STAT_CONNECTING, 'STAT_GOT_IP': simhw.STAT_GOT_IP,
            'STAT_CONNECT_FAIL': simhw.STAT_CONNECT_FAIL, 'STAT_NO_AP_FOUND': simhw.STAT_NO_AP_FOUND,
            'STAT_WRONG_PASSWORD': simhw.STAT_WRONG_PASSWORD},
    'esp32': {'STAT_IDLE': 1000, 'STAT_CONNECTING': 1001, 'STAT_GOT_IP': 1010, 'STAT_CONNECT_FAIL': 203,
              'STAT_NO_AP_FOUND': 201, 'STAT_WRONG_PASSWORD': 202, 'STAT_HANDSHAKE_TIMEOUT': 204,
              'STAT_BEACON_TIMEOUT': 200},
}
_HANDSHAKE_TIMED_OUT = 15  # WIFI_REASON_4WAY_HANDSHAKE_TIMEOUT


def use_port(port):
    # Called by simports.use_port and simhw.reset: the constants of the simulated port.
    g = globals()
    for name in ('STAT_HANDSHAKE_TIMEOUT', 'STAT_BEACON_TIMEOUT'):
        g.pop(name, None)
    g.update(_PORT_STATUS[port])


def _status(st):
    # A station state (cyw43's numbers) as the simulated port's status() answers it.
    s = simhw._sta
    w = simhw._wifi
    if st == simhw.STAT_CONNECTING and s['pending'] == 1 and s['ssid'] == w['ssid'] and s['key'] == w['key'] and w['present']:
        # Joined, the address not yet there: cyw43's CYW43_LINK_NOIP (2); an ESP32 says connecting.
        return 2 if simhw.port == 'rp2' else STAT_CONNECTING
    if simhw.port == 'rp2':
        return st
    if st == simhw.STAT_WRONG_PASSWORD:
        return _HANDSHAKE_TIMED_OUT if simhw._sta.get('reconnects') else STAT_CONNECTING
    for name in ('STAT_IDLE', 'STAT_CONNECTING', 'STAT_GOT_IP', 'STAT_CONNECT_FAIL', 'STAT_NO_AP_FOUND'):
        if st == _PORT_STATUS['rp2'][name]:
            return _PORT_STATUS['esp32'][name]
    return st


use_port('rp2')

_MAC = b'\x28\xcd\xc1\x0a\x1b\x2c'
_NO_IP = ('0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0')


class WLAN:
    PM_NONE = 0x10
    PM_PERFORMANCE = 0xA11142
    PM_POWERSAVE = 0x11

    def __init__(self, interface=STA_IF):
        if interface != STA_IF:
            raise ValueError('the shim models the station interface only')

    def active(self, on=None):
        s = simhw._sta
        if on is None:
            return s['active']
        s['active'] = bool(on)
        if on:
            # cyw43 hands the chip its country (network.country()) only when the interface comes
            # up: a country set after active(True) waits for the next time.
            s['country_at_up'] = simhw.country
            # Bringing the interface up starts the chip in its default power management.
            s['pm'] = self.PM_PERFORMANCE
        if not on:
            s['status'] = simhw.STAT_IDLE
            s['pending'] = None

    def connect(self, ssid=None, key=None, bssid=None):
        s = simhw._sta
        if not s['active']:
            raise OSError(1)  # EPERM: cyw43 refuses to join before active(True)
        if s['join_errors']:
            raise OSError(s['join_errors'].pop(0))
        s['ssid'] = ssid
        s['key'] = key
        s['status'] = simhw.STAT_CONNECTING
        s['pending'] = simhw._wifi['polls']
        if s['pending'] == 0:
            s['pending'] = 1
            simhw.sta_poll()

    def disconnect(self):
        s = simhw._sta
        s['status'] = simhw.STAT_IDLE
        s['pending'] = None

    def isconnected(self):
        return simhw.sta_poll() == simhw.STAT_GOT_IP

    def status(self, param=None):
        if param is None:
            return _status(simhw.sta_poll())
        if param == 'rssi':
            if simhw._sta['status'] != simhw.STAT_GOT_IP:
                raise OSError(1)
            return simhw._wifi['rssi']
        raise ValueError('unknown status param')

    def ifconfig(self, config=None):
        s = simhw._sta
        if config is not None:
            s['static'] = tuple(config)
            return None
        if s['status'] != simhw.STAT_GOT_IP:
            return _NO_IP if s['static'] is None else s['static']
        return s['static'] or simhw._wifi['ip']

    def ipconfig(self, *args, **kw):
        if kw:
            if 'addr4' in kw:
                a = kw['addr4']
                ip, mask = a if isinstance(a, tuple) else (a.split('/')[0], '255.255.255.0')
                cur = self.ifconfig()
                self.ifconfig((ip, mask, cur[2], cur[3]))
            return None
        cfg = self.ifconfig()
        if args[0] == 'addr4':
            return (cfg[0], cfg[1])
        if args[0] == 'gw4':
            return cfg[2]
        raise ValueError('unknown ipconfig param')

    def config(self, *args, **kw):
        s = simhw._sta
        if kw:
            for k in kw:
                if k == 'hostname':
                    s['hostname'] = kw[k]
                elif k == 'pm':
                    s['pm'] = kw[k]
                elif k == 'reconnects' and simhw.port == 'esp32':
                    s['reconnects'] = kw[k]
                elif k not in ('ssid', 'key', 'channel', 'txpower'):
                    raise ValueError('unknown config param')
            return None
        name = args[0]
        if name == 'mac':
            return _MAC
        if name == 'hostname':
            return s['hostname']
        if name == 'ssid':
            return s['ssid'] or ''
        if name == 'pm':
            return s['pm']
        raise ValueError('unknown config param')

    def scan(self):
        w = simhw._wifi
        if not w['present']:
            return []
        return [(w['ssid'].encode(), b'\x02\x11\x22\x33\x44\x55', 6, w['rssi'], 3, 0)]


def hostname(name=None):
    if name is None:
        return simhw._sta['hostname']
    simhw._sta['hostname'] = name


def country(code=None):
    if code is None:
        return simhw.country
    simhw.country = code

# network for tests: a Pico W's cyw43 WLAN, whose access point simhw.wifi() sets up.
import simhw

STA_IF = 0
AP_IF = 1
STAT_IDLE = simhw.STAT_IDLE
STAT_CONNECTING = simhw.STAT_CONNECTING
STAT_WRONG_PASSWORD = simhw.STAT_WRONG_PASSWORD
STAT_NO_AP_FOUND = simhw.STAT_NO_AP_FOUND
STAT_CONNECT_FAIL = simhw.STAT_CONNECT_FAIL
STAT_GOT_IP = simhw.STAT_GOT_IP

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
            s['status'] = STAT_IDLE
            s['pending'] = None

    def connect(self, ssid=None, key=None, bssid=None):
        s = simhw._sta
        if not s['active']:
            raise OSError(1)  # EPERM: cyw43 refuses to join before active(True)
        if s['join_errors']:
            raise OSError(s['join_errors'].pop(0))
        s['ssid'] = ssid
        s['key'] = key
        s['status'] = STAT_CONNECTING
        s['pending'] = simhw._wifi['polls']
        if s['pending'] == 0:
            s['pending'] = 1
            simhw.sta_poll()

    def disconnect(self):
        s = simhw._sta
        s['status'] = STAT_IDLE
        s['pending'] = None

    def isconnected(self):
        return simhw.sta_poll() == STAT_GOT_IP

    def status(self, param=None):
        if param is None:
            return simhw.sta_poll()
        if param == 'rssi':
            if simhw._sta['status'] != STAT_GOT_IP:
                raise OSError(1)
            return simhw._wifi['rssi']
        raise ValueError('unknown status param')

    def ifconfig(self, config=None):
        s = simhw._sta
        if config is not None:
            s['static'] = tuple(config)
            return None
        if s['status'] != STAT_GOT_IP:
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

# Protocol errors (docs/protocol.md §6). Every failure the board reports is a ProtoError with
# one of the catalogue's codes; the session turns it into {"ok": false, "error": {...}}.
#
# Messages stay on flash: a ProtoError names its message by a key of tether/messages.json plus
# the values to fill in, and the text is read when the error is reported. Held in RAM, the
# board's ~50 messages would take about 4 KB of a Pico W's heap. A message with a space in it is
# the text itself (the OTA updater's, which is in RAM only during an update).
import json

_CATALOG = __file__[:__file__.rfind('/') + 1] + 'messages.json'


def text(key, args=()):
    if ' ' not in key:
        key = _lookup(key) or key + ' %r' * len(args)
    return key % args if args else key


def say(key, args=()):
    # A line on the board's console, its text from the catalogue.
    print('tether:', text(key, args))


def _lookup(key):
    # One "key": "text" pair per line, so a scan finds it without parsing the whole file.
    head = '"' + key + '": '
    try:
        with open(_CATALOG) as fh:
            for line in fh:
                if line.startswith(head):
                    return json.loads(line[len(head):].rstrip().rstrip(','))
    except (OSError, ValueError):
        pass
    return None


class ProtoError(Exception):
    def __init__(self, code, message, *args):
        super().__init__(code)
        self.code = code
        self.key = message
        self.fill = args

    @property
    def message(self):
        return text(self.key, self.fill)

    def wire(self):
        return {'code': self.code, 'message': self.message}


class SensorFault(Exception):
    # A chip answered with data that cannot be right; the board reports it as sensor_error.
    pass

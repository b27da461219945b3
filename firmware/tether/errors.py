# Protocol errors (docs/protocol.md §6). Every failure the board reports is a ProtoError with
# one of the catalogue's codes; the session turns it into {"ok": false, "error": {...}}.


class ProtoError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    def wire(self):
        return {'code': self.code, 'message': self.message}


class SensorFault(Exception):
    # A chip answered with data that cannot be right; the board reports it as sensor_error.
    pass

# The status LED (blink patterns for each link state, plus one for errors). Durations in ms, alternating on and
# off, starting with on; the pattern repeats.
import asyncio
from machine import Pin

PATTERNS = {
    'connecting': (100, 200, 100, 200, 100, 1000),  # 3 blinks of 100 ms, 200 ms apart, 1 s pause
    'idle': (1500, 1500),                            # listening, nobody connected
    'active': (20, 80),                              # a client is connected
    'error': (600, 300, 600, 1500),                  # 2 long blinks: the board cannot start; see the console
    'sensor_down': (600, 300, 100, 300, 100, 1500),  # 1 long, 2 short: a sensor has not started (retried)
    # 4 quick blinks, 1 s on: the hub dialled did not prove it knows the board's key (the console
    # says which hub); a fake hub, or config/hub.json's token is not the hub's.
    'bad_hub': (100, 100, 100, 100, 100, 100, 100, 100, 1000, 1000),
}


class Led:
    def __init__(self, pin_id):
        try:
            self.pin = Pin(pin_id, Pin.OUT, value=0) if pin_id is not None else None
        except (ValueError, TypeError):
            self.pin = None  # a board without a usable LED still runs
        self.name = 'connecting'

    def show(self, name):
        self.name = name

    async def run(self):
        while True:
            pattern = PATTERNS[self.name]
            shown = self.name
            for i, ms in enumerate(pattern):
                if self.pin is not None:
                    self.pin.value(1 if i % 2 == 0 else 0)
                await asyncio.sleep_ms(ms)
                if self.name != shown:
                    break

# Runs the board (tether/app.py). A crash resets the board, so that a broken update counts as a
# failed boot and boot.py rolls it back (tether/ota.py).
import asyncio
from tether import app

try:
    asyncio.run(app.main())
except Exception as err:
    import sys
    import time
    import machine
    sys.print_exception(err)
    time.sleep(5)
    machine.reset()

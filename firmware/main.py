# Runs the board (tether/app.py). Any failure, the import of the firmware included, is printed and
# resets the board 5 s later, so that a broken update counts as a failed boot and boot.py rolls it
# back (tether/ota.py); a board left at the REPL would wait there for ever.
import sys
import time
import machine

try:
    import asyncio
    from tether import app
    asyncio.run(app.main())
except KeyboardInterrupt:
    # Ctrl-C at the console (mpremote, tether install): the REPL, where nothing feeds the watchdog.
    # Tools send Ctrl-C twice, and the second may land while the watchdog is being stopped.
    while 'app' in globals():
        try:
            app.stop_watchdog()
            break
        except KeyboardInterrupt:
            pass
    raise
except Exception as err:
    sys.print_exception(err)
    time.sleep(5)
    machine.reset()

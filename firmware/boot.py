# Runs first at every start, before main.py: finishes an interrupted firmware update, counts a
# trial boot, or rolls a failed update back (tether/ota.py, docs/firmware.md). Nothing
# here may stop the board from booting, so every failure is printed and passed over.


def _ota_boot():
    try:
        import tether.ota
        updater = tether.ota.Updater()
        print('ota:', updater.boot())
        updater.arm_health_timer()
        return
    except Exception as e:
        print('ota: boot step failed:', repr(e))
    # The update being tried may have brought a broken tether/ota.py (or tether/__init__.py):
    # run the copy that was backed up before it was replaced, which can still roll it back.
    try:
        scope = {'__name__': 'ota_prev'}
        with open('ota/prev/tether/ota.py') as f:
            exec(f.read(), scope)
        updater = scope['Updater']()
        print('ota (backup copy):', updater.boot())
        if hasattr(updater, 'arm_health_timer'):
            updater.arm_health_timer()
    except OSError:
        pass
    except Exception as e:
        print('ota: the backup copy failed too:', repr(e))


_ota_boot()
del _ota_boot
# main.py must import the tether package afresh: the update may have replaced modules that
# were loaded above.
import sys

for _name in list(sys.modules):
    if _name == 'tether' or _name.startswith('tether.'):
        del sys.modules[_name]
del _name

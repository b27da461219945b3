# Runs first at every start, before main.py: finishes an interrupted firmware update, counts a
# trial boot, or rolls a failed update back (tether/ota.py, docs/firmware.md). Nothing
# here may stop the board from booting, so every failure is printed and passed over.


def _ota_pending(os, open):
    # tether/ota.py is ~45 KB of source to compile: a normal start reads one small file instead,
    # and imports it only for a journal (an update or rollback under way), a version on trial,
    # or backups left over from a confirmation that a power cut interrupted.
    # First LittleFS finishes a rename a power cut interrupted (tether/ota.py, _settle): until
    # its first write after a mount it can hide the entry after the renamed one, such as ota/
    # after main.py moved to ota/prev/. A mkdir of a folder that exists writes nothing.
    try:
        os.mkdir('tether')
    except OSError:
        pass
    for path in ('ota/journal.json', 'ota/journal.json.tmp', 'ota/prev'):
        try:
            os.stat(path)
            return True
        except OSError:
            pass
    try:
        with open('ota/state.json') as f:
            return '"trial"' in f.read()
    except OSError:
        return False


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


import os

if _ota_pending(os, open):
    _ota_boot()
    # main.py must import the tether package afresh: the update may have replaced modules that
    # were loaded above.
    import sys

    for _name in list(sys.modules):
        if _name == 'tether' or _name.startswith('tether.'):
            del sys.modules[_name]
    del _name, sys
del _ota_pending, _ota_boot, os

# CPython stand-in for MicroPython's built-in `micropython` module, so firmware modules that do
# `from micropython import const` import unchanged on the host. Only what the firmware may call;
# the optimisation hints do nothing here because CPython has no such compilers.
import gc

_opt_level = 0


def const(x):
    return x


def opt_level(level=None):
    global _opt_level
    if level is None:
        return _opt_level
    _opt_level = level


def alloc_emergency_exception_buf(size):
    pass


def mem_info(verbose=None):
    # Same shape as the device's first lines, from the numbers cpython_compat gives gc.
    alloc = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
    free = gc.mem_free() if hasattr(gc, 'mem_free') else 0
    print('stack: 0 out of 8192')
    print('GC: total: %d, used: %d, free: %d' % (alloc + free, alloc, free))


def schedule(fn, arg):
    # On the device the call runs "soon", never inside the caller (it is how an IRQ handler
    # hands work to normal code). Inside a running event loop that is call_soon; without one
    # there is nothing to defer to, so it runs now.
    try:
        import asyncio
        loop = asyncio.get_running_loop()
    except RuntimeError:
        fn(arg)
    else:
        loop.call_soon(fn, arg)


def native(f):
    return f


def viper(f):
    return f

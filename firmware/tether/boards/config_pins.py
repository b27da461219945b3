# Start-up only: the board config's pins against the board module's rules (tether/boards).
from tether import boards
from tether.errors import ProtoError, text


def check(support, c, need, warn):
    # The config's pins against what the board gives: the same refusals as setup_pin and pwm, so
    # that a config the board cannot run does not start. Run once by config.normalize, then this
    # module leaves the heap again (as start.unload does for the start-up modules).
    try:
        _check(support, c, need, warn)
    finally:
        import sys
        sys.modules.pop('tether.boards.config_pins', None)
        if 'config_pins' in boards.__dict__:
            delattr(boards, 'config_pins')


def _check(support, c, need, warn):
    n = c['gpio']['pin_count']
    pwms = []

    def use(where, pin, how, bus=None, scl=False):
        if pin >= n:
            return  # config.py reports it
        try:
            support.check_pin(pin, how)
            if bus is not None:
                support.check_i2c_pin(bus, pin, scl)
        except ProtoError as e:
            need(False, where, e.message)
            return
        w = support.pin_warning(pin)
        if w:
            warn(where + ': ' + w)

    for i, b in enumerate(c['i2c']):
        for k in ('sda', 'scl'):
            if b[k] is not None:
                use('i2c[%d].%s' % (i, k), b[k], 'out', b['bus'], k == 'scl')
    for i, p in enumerate(c['adc']['pins']):
        if isinstance(p, int) and not isinstance(p, bool):
            use('adc.pins[%d]' % i, p, 'in')
    for i, p in enumerate(c['pins']):
        use('pins[%d].pin' % i, p['pin'], 'in' if p.get('mode') == 'input' else 'out')
    for i, a in enumerate(c['actuators']):
        w = 'actuators[%d]' % i
        if a.get('driver') != 'pwm':
            use(w + '.pin', a['pin'], 'out')
            continue
        use(w + '.pin', a['pin'], 'pwm')
        f = (a.get('options') or {}).get('freq', 1000)
        if isinstance(f, int) and not isinstance(f, bool):
            try:
                boards.check_pwm(support, a['pin'], f, [(q, g) for _, q, g in pwms])
            except ProtoError as e:
                need(False, w + '.options.freq', e.message)
            pwms.append((w, a['pin'], f))
    for i, s in enumerate(c['sensors']):
        p = (s.get('options') or {}).get('pin') if isinstance(s.get('options'), dict) else None
        if isinstance(p, int) and not isinstance(p, bool):
            # 1-Wire and DHT22 drive their data line.
            use('sensors[%d].options.pin' % i, p, 'out')
    top = getattr(support, 'PWM_TIMERS', 0)
    if top:
        need(len(set(f for _, _, f in pwms)) <= top, 'actuators', text('pwm_timers', (top,)))

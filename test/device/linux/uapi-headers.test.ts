// The struct layouts, ioctl numbers, flags and libc constants the Linux backend encodes,
// against what gcc says from <linux/gpio.h>, <linux/i2c-dev.h>, <linux/i2c.h> and libc's
// headers on this machine. A wrong offset or a mistyped flag fails here, not on a Pi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as gpio from '../../../src/device/backends/linux/gpio-uapi.js';
import * as i2c from '../../../src/device/backends/linux/i2c-uapi.js';
import { LINUX_ERRNO } from '../../../src/device/backends/linux/kernel.js';
import { FCNTL } from '../../../src/device/backends/linux/koffi-kernel.js';
import { POLL } from '../../../src/device/backends/linux/fd-watch.js';
import { compileC, runProbe } from '../../support/c-probe.js';

type Layout = { readonly size: number } & Record<string, number>;

/** C struct → its TypeScript layout, and the C fields each layout key stands for. */
const STRUCTS: [string, Layout, Record<string, string>][] = [
  ['gpiochip_info', gpio.CHIP_INFO, { name: 'name', label: 'label', lines: 'lines' }],
  ['gpio_v2_line_attribute', gpio.LINE_ATTRIBUTE, { id: 'id', padding: 'padding', flags: 'value', values: 'value', debounce_period_us: 'value' }],
  ['gpio_v2_line_config_attribute', gpio.LINE_CONFIG_ATTRIBUTE, { attr: 'attr', mask: 'mask' }],
  ['gpio_v2_line_config', gpio.LINE_CONFIG, { flags: 'flags', num_attrs: 'num_attrs', padding: 'padding', attrs: 'attrs' }],
  [
    'gpio_v2_line_request',
    gpio.LINE_REQUEST,
    { offsets: 'offsets', consumer: 'consumer', config: 'config', num_lines: 'num_lines', event_buffer_size: 'event_buffer_size', padding: 'padding', fd: 'fd' },
  ],
  ['gpio_v2_line_info', gpio.LINE_INFO, { name: 'name', consumer: 'consumer', offset: 'offset', num_attrs: 'num_attrs', flags: 'flags', attrs: 'attrs', padding: 'padding' }],
  ['gpio_v2_line_values', gpio.LINE_VALUES, { bits: 'bits', mask: 'mask' }],
  ['gpio_v2_line_event', gpio.LINE_EVENT, { timestamp_ns: 'timestamp_ns', id: 'id', offset: 'offset', seqno: 'seqno', line_seqno: 'line_seqno', padding: 'padding' }],
  ['i2c_msg', i2c.i2cMsgLayout(i2c.pointerSizeFor()), { addr: 'addr', flags: 'flags', len: 'len', buf: 'buf' }],
  ['i2c_rdwr_ioctl_data', i2c.rdwrDataLayout(i2c.pointerSizeFor()), { msgs: 'msgs', nmsgs: 'nmsgs' }],
];

const flagName = (k: string) => `GPIO_V2_LINE_FLAG_${k}`;

const CONSTANTS: Record<string, number | bigint> = {
  GPIO_MAX_NAME_SIZE: gpio.GPIO_MAX_NAME_SIZE,
  GPIO_V2_LINES_MAX: gpio.GPIO_V2_LINES_MAX,
  GPIO_V2_LINE_NUM_ATTRS_MAX: gpio.GPIO_V2_LINE_NUM_ATTRS_MAX,
  GPIO_GET_CHIPINFO_IOCTL: gpio.GPIO_GET_CHIPINFO_IOCTL,
  GPIO_V2_GET_LINEINFO_IOCTL: gpio.GPIO_V2_GET_LINEINFO_IOCTL,
  GPIO_V2_GET_LINE_IOCTL: gpio.GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_SET_CONFIG_IOCTL: gpio.GPIO_V2_LINE_SET_CONFIG_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL: gpio.GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL: gpio.GPIO_V2_LINE_SET_VALUES_IOCTL,
  ...Object.fromEntries(Object.entries(gpio.LineFlag).map(([k, v]) => [flagName(k), v])),
  GPIO_V2_LINE_ATTR_ID_FLAGS: gpio.AttrId.FLAGS,
  GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES: gpio.AttrId.OUTPUT_VALUES,
  GPIO_V2_LINE_ATTR_ID_DEBOUNCE: gpio.AttrId.DEBOUNCE,
  GPIO_V2_LINE_EVENT_RISING_EDGE: gpio.EventId.RISING_EDGE,
  GPIO_V2_LINE_EVENT_FALLING_EDGE: gpio.EventId.FALLING_EDGE,
  I2C_FUNCS: i2c.I2C_FUNCS,
  I2C_RDWR: i2c.I2C_RDWR,
  I2C_RDWR_IOCTL_MAX_MSGS: i2c.I2C_RDWR_IOCTL_MAX_MSGS,
  I2C_M_RD: i2c.I2C_M_RD,
  I2C_FUNC_I2C: i2c.I2C_FUNC_I2C,
  I2C_FUNC_SMBUS_QUICK: i2c.I2C_FUNC_SMBUS_QUICK,
  'sizeof unsigned long': i2c.pointerSizeFor(),
  ...LINUX_ERRNO,
  ...FCNTL,
  POLLIN: POLL.POLLIN,
  POLLERR: POLL.POLLERR,
  POLLHUP: POLL.POLLHUP,
  POLLNVAL: POLL.POLLNVAL,
  'sizeof pollfd': POLL.POLLFD_SIZE,
  EFD_CLOEXEC: POLL.EFD_CLOEXEC,
  EFD_NONBLOCK: POLL.EFD_NONBLOCK,
};

function expected(): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [struct, l, fields] of STRUCTS) {
    out.set(`sizeof ${struct}`, BigInt(l.size));
    for (const [field, key] of Object.entries(fields)) out.set(`offsetof ${struct}.${field}`, BigInt(l[key] as number));
  }
  for (const [name, value] of Object.entries(CONSTANTS)) out.set(name, BigInt(value));
  return out;
}

function source(): string {
  const lines: string[] = [];
  for (const [struct, , fields] of STRUCTS) {
    lines.push(`  P("sizeof ${struct}", sizeof(struct ${struct}));`);
    for (const field of Object.keys(fields)) lines.push(`  P("offsetof ${struct}.${field}", offsetof(struct ${struct}, ${field}));`);
  }
  for (const name of Object.keys(CONSTANTS)) {
    if (name === 'sizeof unsigned long') lines.push('  P("sizeof unsigned long", sizeof(unsigned long));');
    else if (name === 'sizeof pollfd') lines.push('  P("sizeof pollfd", sizeof(struct pollfd));');
    else lines.push(`  P("${name}", ${name});`);
  }
  return `#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <linux/gpio.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#define P(name, v) printf("%s %llu\\n", name, (unsigned long long)(v))
int main(void) {
${lines.join('\n')}
  return 0;
}
`;
}

void test('every struct offset and size, ioctl number, flag and constant the backend encodes matches the C headers', { timeout: 60_000 }, (t) => {
  const program = compileC(t, source());
  if (program === undefined) return;
  try {
    const fromC = runProbe(program);
    const ours = expected();
    assert.deepEqual([...fromC.keys()].sort(), [...ours.keys()].sort(), 'the probe printed every name asked for');
    const wrong = [...ours].filter(([name, value]) => fromC.get(name) !== value).map(([name, value]) => `${name}: TypeScript ${value}, C ${fromC.get(name)}`);
    assert.deepEqual(wrong, []);
    // A few sizes spelled out, so the comparison above cannot pass by comparing nothing.
    assert.equal(fromC.get('sizeof gpio_v2_line_request'), 592n);
    assert.equal(fromC.get('sizeof gpio_v2_line_event'), 48n);
    t.diagnostic(`${ours.size} values compared with gcc on ${process.arch}`);
  } finally {
    program.dispose();
  }
});

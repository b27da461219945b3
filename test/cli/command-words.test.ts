// Parsing of `tether send … -c key=value …` into requests, including through the real
// commander program (the action is replaced so nothing connects).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import {
  CommandSyntaxError,
  GROUP_START,
  coerceValue,
  markCommandGroups,
  parseCommandGroups,
  parseCommandWords,
} from '../../src/cli/command-words.js';
import { VALUE_OPTIONS } from '../../src/cli/connection-options.js';
import type { CliContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';

const S = GROUP_START;

function syntaxError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CommandSyntaxError, `expected a CommandSyntaxError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

/** Parses argv with the real program and returns what the send action would receive. */
async function parseSend(args: string[]): Promise<{ host: string; port: number; flags: Record<string, unknown> }> {
  const ctx: CliContext = { out: () => undefined, err: () => undefined, stdoutIsTTY: false, fail: () => undefined };
  const program = buildProgram(ctx);
  const send = program.commands.find((c) => c.name() === 'send') as Command;
  let seen: { host: string; port: number; flags: Record<string, unknown> } | undefined;
  send.action((host: string, port: number, flags: Record<string, unknown>) => {
    seen = { host, port, flags };
  });
  await program.parseAsync(markCommandGroups(args, VALUE_OPTIONS), { from: 'user' });
  assert.ok(seen !== undefined);
  return seen;
}

void describe('markCommandGroups', { timeout: 30_000 }, () => {
  void it('marks the start of each -c group of the send command', () => {
    assert.deepEqual(markCommandGroups(['send', 'h', '1', '-c', 'action=a', 'x=1', '--command', 'action=b'], VALUE_OPTIONS), [
      'send', 'h', '1', '-c', S, 'action=a', 'x=1', '--command', S, 'action=b',
    ]);
  });

  void it('splits the attached forms -cWORD and --command=WORD', () => {
    assert.deepEqual(markCommandGroups(['send', 'h', '1', '-caction=a', '--command=action=b'], VALUE_OPTIONS), [
      'send', 'h', '1', '-c', S, 'action=a', '--command', S, 'action=b',
    ]);
  });

  void it('leaves option values, words after --, and other commands alone', () => {
    assert.deepEqual(markCommandGroups(['send', 'h', '1', '--token', '-c', '-c', 'action=a'], VALUE_OPTIONS), [
      'send', 'h', '1', '--token', '-c', '-c', S, 'action=a',
    ]);
    assert.deepEqual(markCommandGroups(['send', '--', '-c'], VALUE_OPTIONS), ['send', '--', '-c']);
    assert.deepEqual(markCommandGroups(['watch', 'h', '1', '-c'], VALUE_OPTIONS), ['watch', 'h', '1', '-c']);
  });
});

void describe('coerceValue', { timeout: 30_000 }, () => {
  void it('turns integers and decimals into numbers, true/false into booleans, the rest into strings', () => {
    assert.equal(coerceValue('2'), 2);
    assert.equal(coerceValue('-1'), -1);
    assert.equal(coerceValue('0.5'), 0.5);
    assert.equal(coerceValue('.25'), 0.25);
    assert.equal(coerceValue('1e3'), 1000);
    assert.equal(coerceValue('true'), true);
    assert.equal(coerceValue('false'), false);
    assert.equal(coerceValue('output'), 'output');
    assert.equal(coerceValue('True'), 'True');
    assert.equal(coerceValue('0x38'), '0x38');
    assert.equal(coerceValue(''), '');
    assert.equal(coerceValue('1.2.3'), '1.2.3');
  });

  void it('keeps integers that a double cannot hold exactly as strings', () => {
    assert.equal(coerceValue('12345678901234567890'), '12345678901234567890');
  });
});

void describe('parseCommandWords', { timeout: 30_000 }, () => {
  void it('builds one request from key=value words', () => {
    assert.deepEqual(parseCommandWords(['action=setup_pin', 'pin=2', 'mode=output', 'value=0']), { action: 'setup_pin', pin: 2, mode: 'output', value: 0 });
    assert.deepEqual(parseCommandWords(['action=sleep', 'deep=true', 'time_ms=1500']), { action: 'sleep', deep: true, time_ms: 1500 });
    assert.deepEqual(parseCommandWords(['action=auth', 'token=a=b']), { action: 'auth', token: 'a=b' });
  });

  void it('takes raw JSON after :=', () => {
    assert.deepEqual(parseCommandWords(['action=read_sensor', 'name:="007"', 'extra:={"a":[1,2]}', 'n:=null']), {
      action: 'read_sensor',
      name: '007',
      extra: { a: [1, 2] },
      n: null,
    });
  });

  void it('says what to type when a word is wrong', () => {
    assert.throws(() => parseCommandWords(['action=ping', 'pin']), syntaxError(/"pin" is not key=value; write e\.g\. pin=2/));
    assert.throws(() => parseCommandWords(['=2', 'action=ping']), syntaxError(/not key=value/));
    assert.throws(() => parseCommandWords(['action=ping', 'a b=1']), syntaxError(/not a field name/));
    assert.throws(() => parseCommandWords(['action=ping', 'x:={bad']), syntaxError(/x:= needs JSON/));
    assert.throws(() => parseCommandWords(['action=ping', 'pin=1', 'pin=2']), syntaxError(/pin is given twice/));
    assert.throws(() => parseCommandWords(['pin=2']), syntaxError(/no action: start it with action=NAME/));
    assert.throws(() => parseCommandWords(['action:=1']), syntaxError(/no action/));
    assert.throws(() => parseCommandWords([]), syntaxError(/empty: follow -c with key=value words/));
    assert.throws(() => parseCommandGroups([]), syntaxError(/nothing to send: add at least one -c/));
    assert.throws(() => parseCommandGroups([['action=ping'], ['x=1']]), syntaxError(/^-c #2 has no action/));
  });
});

void describe('tether send argument parsing (the real program)', { timeout: 30_000 }, () => {
  void it('makes two commands of two -c groups', async () => {
    const { host, port, flags } = await parseSend([
      'send', '192.168.1.50', '12345',
      '-c', 'action=setup_pin', 'pin=2', 'mode=output', 'value=0',
      '-c', 'action=read_pin', 'pin=2',
      '--json', '--timeout', '750',
    ]);
    assert.equal(host, '192.168.1.50');
    assert.equal(port, 12345);
    assert.equal(flags['json'], true);
    assert.equal(flags['timeout'], 750);
    assert.deepEqual(parseCommandGroups(flags['command'] as string[][]), [
      { action: 'setup_pin', pin: 2, mode: 'output', value: 0 },
      { action: 'read_pin', pin: 2 },
    ]);
  });

  void it('keeps a word that looks like a flag value inside its own group', async () => {
    const { flags } = await parseSend(['send', 'h', '1', '--token', 'secret', '-caction=ping', '--command=action=get_version', '-c', 'action=write_pin', 'pin=2', 'value=1', 'timeout=0.5']);
    assert.equal(flags['token'], 'secret');
    assert.deepEqual(parseCommandGroups(flags['command'] as string[][]), [
      { action: 'ping' },
      { action: 'get_version' },
      { action: 'write_pin', pin: 2, value: 1, timeout: 0.5 },
    ]);
  });
});

// No test can hang the suite: every outermost describe/test/it in every test file passes a
// `timeout`, which bounds everything nested in it. (scripts/run-tests.js also bounds each file,
// for a synchronous loop that no in-process timeout can stop.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../support/micropython.js';

const TEST_DIR = join(REPO_ROOT, 'test');
const RUNNERS = new Set(['describe', 'test', 'it', 'suite']);

/** describe / test.skip / it.only …: the runner function a call names, if any. */
function runnerName(call: ts.CallExpression): string | undefined {
  let callee = call.expression;
  if (ts.isPropertyAccessExpression(callee)) callee = callee.expression;
  return ts.isIdentifier(callee) && RUNNERS.has(callee.text) ? callee.text : undefined;
}

function hasTimeout(call: ts.CallExpression): boolean {
  return call.arguments.some((arg) => ts.isObjectLiteralExpression(arg) && arg.properties.some((p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'timeout'));
}

/** The outermost runner calls of a file that pass no timeout, as "file:line". */
export function unboundedCalls(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && runnerName(node) !== undefined) {
      if (!hasTimeout(node)) found.push(`${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      return; // what is nested inside is bounded by this call's timeout
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test('the check finds an outermost test without a timeout, and only that one', { timeout: 10_000 }, () => {
  const text = [
    "describe('bounded', { timeout: 5000 }, () => { test('inner', () => {}); });",
    "test('unbounded', async () => {});",
    "for (const x of [1]) it(`looped ${x}`, { skip: false }, () => {});",
    "void test('bounded too', { timeout: 1 }, () => {});",
  ].join('\n');
  assert.deepEqual(unboundedCalls('x.test.ts', text), ['x.test.ts:2', 'x.test.ts:3']);
});

test('every outermost describe, test and it passes a timeout', { timeout: 30_000 }, () => {
  const files = readdirSync(TEST_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
  assert.ok(files.length > 40, `only ${files.length} test files under ${TEST_DIR}`);
  const unbounded = files.flatMap((f) => unboundedCalls(relative(REPO_ROOT, join(TEST_DIR, f)), readFileSync(join(TEST_DIR, f), 'utf8')));
  assert.deepEqual(unbounded, [], 'give these a timeout option: test(name, { timeout: 30_000 }, fn)');
});

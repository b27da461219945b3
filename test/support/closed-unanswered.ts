// For the tests of a board refusing a connection outright (HTTP on its port): the board must
// close without sending a single line.
import assert from 'node:assert/strict';
import { LineClient } from './line-client.js';

/** Sends `data` in one write and asserts the board closes the connection without a line. */
export async function assertClosedUnanswered(port: number, data: string): Promise<void> {
  const client = await LineClient.connect(port);
  try {
    await client.write(data);
    await client.waitClosed(5000);
    await assert.rejects(client.nextLine(100), /connection closed/, 'the board sent nothing before closing');
  } finally {
    client.close();
  }
}

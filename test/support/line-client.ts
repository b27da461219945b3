// A raw TCP client for tests: writes bytes as given and reads whole lines, so tests see
// exactly what the board put on the wire.
import net from 'node:net';
import { LineDecoder } from '../../src/protocol/framing.js';

export class LineClient {
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private closedFlag = false;

  private constructor(readonly socket: net.Socket) {
    const decoder = new LineDecoder(16 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, {
        frame: (bytes) => this.lines.push(bytes.toString('utf8')),
        oversize: () => this.lines.push('<oversize>'),
      });
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new LineClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  send(message: object): Promise<void> {
    return this.write(JSON.stringify(message) + '\n');
  }

  /** The next line, parsed; rejects after timeoutMs or when the connection closes first. */
  async next(timeoutMs = 2000): Promise<Record<string, unknown>> {
    return JSON.parse(await this.nextLine(timeoutMs)) as Record<string, unknown>;
  }

  async nextLine(timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closedFlag) throw new Error('connection closed while waiting for a line');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.lines.shift() as string;
  }

  /** Sends a request and returns its reply (skipping nothing: the next line must be it). */
  async request(message: object, timeoutMs = 2000): Promise<Record<string, unknown>> {
    await this.send(message);
    return this.next(timeoutMs);
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    this.waiter?.();
  }
}

// An OTA channel straight to the board over TCP/TLS (direct mode): the client's connection,
// dropped at the commit and made again while the board restarts.
import { connect, TetherError, type BoardClient, type ConnectOptions, type JsonObject } from '../../client/index.js';
import { hostPort } from '../../common/address.js';
import { keyOfToken, manifestMac } from '../../protocol/auth.js';
import type { OtaChannel } from './ota-channel.js';
import { readStatus } from './ota-requests.js';
import type { UpdateStatus } from './update-status.js';

const TRANSIENT_CLIENT_CODES = new Set(['timeout', 'connection_failed', 'connection_closed']);

export class DirectChannel implements OtaChannel {
  readonly label: string;
  private client: BoardClient | undefined;

  constructor(readonly options: ConnectOptions) {
    this.label = hostPort(options.host, options.port);
  }

  async open(): Promise<void> {
    this.client = await connect(this.options);
  }

  request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    if (this.client === undefined) return Promise.reject(new TetherError('connection_closed', `not connected to ${this.label}`));
    const t = Math.max(timeoutMs ?? 0, this.options.timeoutMs ?? 0);
    return this.client.request(body, t > 0 ? { timeoutMs: t } : {});
  }

  /** protocol.md §5.19: made with the admin token's key, which the board holds too. */
  commitProof(version: string, manifest: string): JsonObject {
    const token = this.options.token;
    return token === undefined ? {} : { manifest_mac: manifestMac(keyOfToken(token), version, manifest) };
  }

  async committed(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }

  async pollStatus(remainingMs: number): Promise<UpdateStatus | undefined> {
    if (this.client !== undefined && !this.client.isOpen) this.client = undefined;
    if (this.client === undefined) {
      const limit = Math.max(500, Math.min(this.options.connectTimeoutMs ?? 5000, remainingMs));
      try {
        this.client = await connect({ ...this.options, connectTimeoutMs: limit });
      } catch (err) {
        if (this.transient(err)) return undefined;
        throw err;
      }
    }
    try {
      return await readStatus(this);
    } catch (err) {
      if (!this.transient(err)) throw err;
      await this.committed();
      return undefined;
    }
  }

  transient(err: unknown): boolean {
    return err instanceof TetherError && TRANSIENT_CLIENT_CODES.has(err.code);
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}

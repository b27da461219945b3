// An OTA channel to a board held in memory: the `update` action's ops as firmware/tether/ota.py
// answers them (offsets, sizes and SHA-256 checked, a reset after commit, a trial, a rollback),
// without a socket, so that the firmware library's OTA client can be driven step by step.
import { TetherError, type JsonObject } from '../../src/client/index.js';
import { manifestDigest, parseStatus, type ManifestEntry, type OtaChannel, type UpdateStatus } from '../../src/firmware/index.js';
import { sha256Hex } from '../../src/firmware/board-files.js';


interface Staged {
  version: string;
  files: ManifestEntry[];
  delete: string[];
  data: Map<string, Buffer>;
  committed: boolean;
}

export class MemoryOtaChannel implements OtaChannel {
  readonly label = 'memory board';
  version = '0.1.0';
  previous: string | null = null;
  state: 'confirmed' | 'trial' = 'confirmed';
  bootCount = 0;
  rolledBackFrom: string | null = null;
  staging: Staged | undefined;
  /** The board's flash, for op "list". */
  readonly flash = new Map<string, Buffer>();
  /** After the reset: apply the update and confirm it after `trialPolls` polls, roll it back, or ignore it. */
  outcome: 'confirm' | 'rollback' | 'ignore' = 'confirm';
  trialPolls = 1;
  /** Status polls (pollStatus) that find the board still down after its reset. */
  downPolls = 1;
  /** Fail the n-th chunk (1-based) with this error. */
  failChunk: { n: number; error: TetherError } | undefined;
  readonly requests: JsonObject[] = [];
  private chunks = 0;
  private resetting = false;

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  commitProof(version: string, manifest: string): JsonObject {
    return { manifest_mac: `mac of ${version} ${manifest}` };
  }

  committed(): Promise<void> {
    return Promise.resolve();
  }

  transient(): boolean {
    return false;
  }

  async pollStatus(): Promise<UpdateStatus | undefined> {
    if (this.resetting && this.downPolls-- > 0) return undefined;
    return parseStatus(await this.request({ action: 'update', op: 'status' }));
  }

  request(body: JsonObject): Promise<JsonObject> {
    this.requests.push(body);
    // The first request after a commit finds the board restarted.
    if (this.resetting) this.reset();
    try {
      if (body['action'] === 'get_version') return Promise.resolve({ ...body, ok: true, version: this.version });
      return Promise.resolve({ ...body, ok: true, ...this.update(body) });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private refuse(message: string): never {
    throw new TetherError('bad_field', message);
  }

  private update(request: JsonObject): JsonObject {
    switch (request['op']) {
      case 'status':
        return { update: this.status() };
      case 'list': {
        const after = typeof request['after'] === 'string' ? request['after'] : '';
        const paths = [...this.flash.keys()].sort().filter((p) => p > after);
        const page = paths.slice(0, 2);
        return { files: page.map((p) => [p, this.flash.get(p)?.length ?? 0, sha256Hex(this.flash.get(p) ?? Buffer.alloc(0))]), more: paths.length > page.length };
      }
      case 'begin': {
        const files = request['files'] as ManifestEntry[];
        if (request['append'] === true) {
          this.staging?.files.push(...files);
          for (const f of files) this.staging?.data.set(f.path, Buffer.alloc(0));
        } else {
          const deleted = Array.isArray(request['delete']) ? (request['delete'] as string[]) : [];
          this.staging = { version: String(request['version']), files: [...files], delete: deleted, data: new Map(files.map((f) => [f.path, Buffer.alloc(0)])), committed: false };
        }
        return { chunk_bytes: 4 };
      }
      case 'chunk': {
        const s = this.staging ?? this.refuse('op: no update is being staged; send op "begin" first');
        this.chunks += 1;
        if (this.failChunk?.n === this.chunks) throw this.failChunk.error;
        const path = String(request['path']);
        const have = s.data.get(path) ?? this.refuse(`path: ${path} is not one of the files declared by begin`);
        if (request['offset'] !== have.length) this.refuse(`offset: ${have.length} bytes of ${path} are staged; resume from there`);
        s.data.set(path, Buffer.concat([have, Buffer.from(String(request['data']), 'base64')]));
        return {};
      }
      case 'commit': {
        const s = this.staging ?? this.refuse('op: no update is being staged; send op "begin" first');
        for (const f of s.files) if (sha256Hex(s.data.get(f.path) ?? Buffer.alloc(0)) !== f.sha256) this.refuse(`files: ${f.path} does not match its sha256`);
        if (request['manifest'] !== manifestDigest(s.files, s.delete)) this.refuse('manifest: not the staged manifest');
        s.committed = true;
        this.resetting = true;
        return { reset_in_ms: 0 };
      }
      case 'clear': {
        const had = this.staging;
        this.staging = undefined;
        return { cleared: had === undefined ? 'nothing' : had.committed ? 'committed' : 'staging' };
      }
      default:
        return this.refuse('op: expected one of "status", "list", "begin", "chunk", "commit", "clear"');
    }
  }

  private status(): JsonObject {
    if (this.state === 'trial' && this.trialPolls-- <= 0) {
      this.state = 'confirmed';
      this.bootCount = 0;
    }
    const s = this.staging;
    return {
      version: this.version,
      previous: this.previous,
      state: s !== undefined && this.state !== 'trial' ? 'staging' : this.state,
      boot_count: this.bootCount,
      rolled_back_from: this.rolledBackFrom,
      ...(s === undefined
        ? {}
        : {
            staging: {
              version: s.version,
              manifest: manifestDigest(s.files, s.delete),
              received: Object.fromEntries([...s.data].map(([p, d]) => [p, d.length])),
              committed: s.committed,
              chunk_bytes: 4,
            },
          }),
    };
  }

  private reset(): void {
    this.resetting = false;
    const s = this.staging;
    this.staging = undefined;
    if (s === undefined || this.outcome === 'ignore') return;
    if (this.outcome === 'rollback') {
      this.rolledBackFrom = s.version;
      return;
    }
    for (const [path, data] of s.data) this.flash.set(path, data);
    for (const path of s.delete) this.flash.delete(path);
    this.previous = this.version;
    this.version = s.version;
    this.state = 'trial';
    this.bootCount = 1;
  }
}

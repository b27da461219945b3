// Watching fds for the kernel's GPIO edge events without a polling loop. Two ways, both with
// callbacks on the main thread and no CPU spent while nothing happens:
//
// - "uv" (the default): koffi.node.poll registers the fd with libuv's own epoll, the one the
//   event loop already sleeps in, so a watch costs no thread and no wake-up of its own.
//   koffi marks this API undocumented ("might change"), hence the fallback.
// - "thread": one poll() over every watched fd plus an eventfd, run as a koffi async call on
//   a libuv worker; changing the set writes the eventfd so the worker returns and the call is
//   issued again with the new set. It holds one of libuv's 4 pool threads (shared with fs and
//   crypto) for as long as anything is watched.
//
// Measured on a 2-core x86-64 VM (AMD EPYC, Node 20.20, koffi 3.3.4):
// - idle: with 8 FIFOs watched and nothing arriving, 1.0–2.1 ms of CPU and one voluntary
//   context switch per 3 s window (the window's own timer), for both kinds: the same as with
//   nothing watched.
// - wake-up (npm run bench:linux: a byte written to a FIFO until the callback runs, 5,000
//   times): uv p50 9 µs, p99 32 µs; thread p50 17–21 µs, p99 55–580 µs.
import type { KernelError } from './kernel.js';
import type { Libc } from './koffi-kernel.js';

export interface FdWatcher {
  watch(fd: number, onReadable: () => void): () => void;
  dispose(): void;
}

export type FdWatcherKind = 'uv' | 'thread';

export function createFdWatcher(lib: Libc, kind: FdWatcherKind | undefined, errorOf: (syscall: string) => KernelError): FdWatcher {
  const chosen = kind ?? (uvPollOf(lib) !== undefined ? 'uv' : 'thread');
  return chosen === 'uv' ? uvWatcher(lib, errorOf) : new ThreadWatcher(lib, errorOf);
}

/**
 * koffi.node.poll as it behaves (its .d.ts says the callback gets the events only): the
 * callback gets libuv's status first, < 0 on an error after which libuv has stopped the watch.
 */
type UvPoll = (fd: number, options: { readable: boolean }, callback: (status: number) => void) => { close(): void } | null;

function uvPollOf(lib: Libc): UvPoll | undefined {
  const node = (lib.koffi as { node?: { poll?: unknown } }).node;
  return typeof node?.poll === 'function' ? (node.poll as UvPoll) : undefined;
}

function uvWatcher(lib: Libc, errorOf: (syscall: string) => KernelError): FdWatcher {
  const poll = uvPollOf(lib);
  if (poll === undefined) throw new Error('this koffi has no node.poll; use the "thread" fd watcher');
  const handles = new Set<{ close(): void }>();
  return {
    watch(fd, onReadable) {
      // On POLLERR (the GPIO chip went away) libuv stops the watch; the read that follows
      // gets the kernel's error, so the owner hears of it.
      const handle = poll(fd, { readable: true }, () => onReadable());
      if (handle === null) throw errorOf('epoll_ctl');
      handles.add(handle);
      return () => {
        if (handles.delete(handle)) handle.close();
      };
    },
    dispose() {
      for (const handle of handles) handle.close();
      handles.clear();
    },
  };
}

/** poll.h and sys/eventfd.h values (the uapi-headers test checks them); struct pollfd is { int fd; short events; short revents; }. */
export const POLL = Object.freeze({ POLLIN: 0x001, POLLERR: 0x008, POLLHUP: 0x010, POLLNVAL: 0x020, POLLFD_SIZE: 8, EFD_CLOEXEC: 0o2000000, EFD_NONBLOCK: 0o4000 });
const { POLLIN, POLLERR, POLLHUP, POLLNVAL, POLLFD_SIZE, EFD_CLOEXEC, EFD_NONBLOCK } = POLL;

class ThreadWatcher implements FdWatcher {
  private readonly watched = new Map<number, () => void>();
  private wakeFd = -1;
  private running = false;
  private disposed = false;
  private readonly eight = Buffer.alloc(8);

  constructor(
    private readonly lib: Libc,
    private readonly errorOf: (syscall: string) => KernelError,
  ) {}

  watch(fd: number, onReadable: () => void): () => void {
    if (this.disposed) throw new Error('the fd watcher was disposed');
    if (this.watched.has(fd)) throw new Error(`fd ${fd} is already watched`);
    this.lib.setNonBlocking(fd);
    const entry = () => onReadable();
    this.watched.set(fd, entry);
    this.changed();
    return () => {
      if (this.watched.get(fd) !== entry) return;
      this.watched.delete(fd);
      // The worker must let go of the fd before its owner closes it.
      this.changed();
    };
  }

  dispose(): void {
    this.disposed = true;
    this.watched.clear();
    if (this.running) this.wake();
    else this.closeWake();
  }

  private changed(): void {
    if (this.running) this.wake();
    else this.arm();
  }

  private wake(): void {
    this.eight.writeBigUInt64LE(1n);
    this.lib.write(this.wakeFd, this.eight, 8);
  }

  private arm(): void {
    if (this.disposed || this.watched.size === 0) return;
    if (this.wakeFd < 0) {
      this.wakeFd = this.lib.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (this.wakeFd < 0) throw this.errorOf('eventfd');
    }
    const fds = [this.wakeFd, ...this.watched.keys()];
    const set = Buffer.alloc(fds.length * POLLFD_SIZE);
    fds.forEach((fd, i) => {
      set.writeInt32LE(fd, i * POLLFD_SIZE);
      set.writeInt16LE(POLLIN, i * POLLFD_SIZE + 4);
    });
    this.running = true;
    this.lib.poll.async(set, fds.length, -1, (err: unknown) => {
      this.running = false;
      if (err !== null && err !== undefined) throw err instanceof Error ? err : new Error(`poll() on a libuv worker failed: ${JSON.stringify(err)}`);
      this.polled(set, fds);
    });
  }

  private polled(set: Buffer, fds: number[]): void {
    if ((set.readInt16LE(6) & POLLIN) !== 0) this.lib.read(this.wakeFd, this.eight, 8);
    if (this.disposed) {
      this.closeWake();
      return;
    }
    try {
      for (let i = 1; i < fds.length; i++) {
        const revents = set.readInt16LE(i * POLLFD_SIZE + 6);
        const fd = fds[i] as number;
        if ((revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) !== 0) this.watched.get(fd)?.();
      }
    } finally {
      // A callback that throws must not end the other watches; the fds it did not reach are still readable.
      this.arm();
    }
  }

  private closeWake(): void {
    if (this.wakeFd >= 0) this.lib.close(this.wakeFd);
    this.wakeFd = -1;
  }
}

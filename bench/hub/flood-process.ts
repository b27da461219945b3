// The attacker of `npm run bench:flood`, in a process of its own (another machine on the LAN):
// silent connections to the hub's link port from loopback addresses (test/support/link-flood.ts),
// opened and stopped on the bench's calls over IPC, with its counts.
//
//   node dist/bench/hub/flood-process.js      (started by flood-bench.js)
import { loopbackSources, startFlood, type Flood } from '../../test/support/link-flood.js';
import { serveRpc } from './common.js';

let flood: Flood | undefined;
let sources: string[] = [];

const counts = () => ({
  connected: flood?.connected ?? 0,
  closedByPeer: flood?.closedByPeer ?? 0,
  open: sources.reduce((sum, s) => sum + (flood?.openFrom(s) ?? 0), 0),
  sources: sources.length,
});

serveRpc({
  /** Opens `count` silent connections (refilled when the hub closes one, with `refill`); answers once they have opened. */
  start: async (args) => {
    flood?.stop();
    sources = await loopbackSources(Number(args['sources'] ?? 1));
    const t0 = performance.now();
    flood = await startFlood({ port: Number(args['port']), count: Number(args['count']), sources, refill: args['refill'] === true });
    return { ...counts(), ms: performance.now() - t0 };
  },
  counts,
  stop: () => {
    const last = counts();
    flood?.stop();
    flood = undefined;
    return last;
  },
});

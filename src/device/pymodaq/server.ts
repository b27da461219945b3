// The PyMoDAQ server (docs/pymodaq.md): ZeroMQ ROUTER → PyMoDAQ request mapping → the board's
// dispatcher, with PyMoDAQ's writes held while it keeps talking.
import { hostPort, isLoopbackHost } from '../../common/address.js';
import { ProtocolError } from '../../protocol/errors.js';
import { parseBoardState } from '../../protocol/replies.js';
import type { JsonObject } from '../../protocol/codec.js';
import type { SessionContext } from '../dispatcher.js';
import type { ListenOverrides, RunningTransport, TransportContext } from '../transport/registry.js';
import { listenZmq } from '../transport/zmq.js';
import { PymodaqCatalog } from './catalog.js';
import { PymodaqHolds } from './holds.js';
import { PymodaqRequests } from './requests.js';

export async function startPymodaqServer(ctx: TransportContext, overrides: ListenOverrides): Promise<RunningTransport> {
  const { config, board, dispatcher, clock, logger } = ctx;
  const pymodaq = config.pymodaq;
  if (pymodaq === undefined) throw new Error('startPymodaqServer needs a config with pymodaq:');
  const scope = pymodaq.scope ?? 'actuate';
  // PyMoDAQ sends no token: every request carries the scope the config grants the port.
  const session: SessionContext = {
    scope,
    grant: () => undefined,
    addSubscription: () => {
      throw new ProtocolError('unsupported', 'PyMoDAQ requests cannot subscribe');
    },
    removeSubscription: () => false,
    emit: () => undefined,
    peer: 'PyMoDAQ',
  };
  const dispatch = (request: JsonObject): JsonObject | Promise<JsonObject> => dispatcher.handle(request, session);
  const holds = new PymodaqHolds({ dispatch, state: () => parseBoardState(board.state()), wakeAt: () => board.sleepingUntil, clock, logger, holdS: pymodaq.hold_s });
  const requests = new PymodaqRequests({ catalog: new PymodaqCatalog(config, pymodaq), holds, dispatch, mayWrite: scope === 'actuate' });
  const host = overrides.host ?? pymodaq.host ?? config.listen.host;
  const listener = await listenZmq({ host, port: overrides.port ?? pymodaq.port, maxMessageBytes: config.max_frame_bytes, clock, logger }, (text, _peer, arrivedAt) => {
    // Any request, even one refused, says PyMoDAQ is still there (as of when it arrived).
    holds.touch(arrivedAt).catch((err: unknown) => logger.error(`renewing PyMoDAQ's leases: ${err instanceof Error ? err.message : String(err)}`));
    return requests.handle(text, arrivedAt);
  });
  const stopEvents = board.onEvent((event) => holds.noteEvent(event));
  const warning = openPortWarning(host, listener.port, scope);
  if (warning !== undefined) logger.warn(warning);
  return {
    id: 'pymodaq',
    label: 'PyMoDAQ (ZeroMQ)',
    host: listener.host,
    port: listener.port,
    secure: false,
    dropAll: () => holds.clear(),
    close: async () => {
      stopEvents();
      holds.clear();
      await listener.close();
    },
  };
}

/** PyMoDAQ has no authentication: said at start whenever the port is reachable from other machines. */
function openPortWarning(host: string, port: number, scope: 'read' | 'actuate'): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const what = scope === 'actuate' ? 'read every sensor and drive every actuator' : 'read every sensor';
  return `PyMoDAQ (ZeroMQ) on ${hostPort(host, port)} has no authentication: any client on its network may ${what} (pymodaq.scope ${scope}); docs/pymodaq.md#security`;
}

// Protocol v1 on the board's TCP or TLS port: each connection a Session on the dispatcher.
import { Session } from '../session.js';
import type { ListenOverrides, RunningTransport, TransportContext } from './registry.js';
import { listen } from './tcp.js';

const DEFAULT_MAX_CONNECTIONS = 64;

export async function startV1Listener(ctx: TransportContext, overrides: ListenOverrides): Promise<RunningTransport> {
  const { config, board, dispatcher, clock, logger } = ctx;
  const sessions = new Set<Session>();
  const listener = await listen(
    {
      host: overrides.host ?? config.listen.host,
      port: overrides.port ?? config.listen.port,
      tls: config.tls,
      maxConnections: overrides.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      tokens: dispatcher.initialScope === null,
      clock,
      logger,
    },
    (conn, peer) => {
      const session = new Session(conn, dispatcher, board, { maxFrameBytes: config.max_frame_bytes, logger, peer });
      sessions.add(session);
      return {
        receive: (chunk) => session.receive(chunk),
        drained: () => session.drained(),
        close: () => {
          sessions.delete(session);
          session.close();
        },
        get unproven() {
          return session.unproven;
        },
      };
    },
  );
  const closeSessions = () => {
    for (const session of sessions) session.close();
  };
  return {
    id: 'tcp',
    label: listener.secure ? 'TLS' : 'plain TCP',
    host: listener.host,
    port: listener.port,
    secure: listener.secure,
    dropAll: () => {
      closeSessions();
      listener.dropAll();
    },
    close: async () => {
      closeSessions();
      await listener.close();
    },
  };
}

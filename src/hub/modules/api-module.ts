// The HTTP API and the dashboard (api/server.ts), listening on http.host:http.port. The admin
// token and the named tokens are handed to this module alone: no other module checks requests.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { TETHER_VERSION } from '../../protocol/version.js';
import { BUILT_DASHBOARD_DIR } from '../api/dashboard.js';
import type { ApiTokenRegistry } from '../api/route-spec.js';
import { buildApi } from '../api/server.js';
import type { HubConfig } from '../config.js';
import type { HubContext, HubModule } from '../module.js';

/** What requests are checked against: the admin token in <data>/api-token and the named tokens. */
export interface ApiCredentials {
  adminToken: string;
  tokens: ApiTokenRegistry;
}

export function apiModule(http: HubConfig['http'], credentials: ApiCredentials): HubModule {
  let app: FastifyInstance | undefined;
  return {
    name: 'http',
    async start(ctx: HubContext) {
      const api = await buildApi({
        facade: ctx.facade,
        apiToken: credentials.adminToken,
        tokens: credentials.tokens,
        logger: ctx.logger,
        version: TETHER_VERSION,
        dashboardDir: BUILT_DASHBOARD_DIR,
      });
      try {
        await api.listen({ host: http.host, port: http.port });
      } catch (err) {
        await api.close();
        throw err;
      }
      app = api;
      // Port 0 asks for any free port: the one it got is what the hub reports.
      const port = (api.server.address() as AddressInfo).port;
      ctx.report('http', () => ({ host: http.host, port }));
    },
    async stop() {
      await app?.close();
    },
  };
}

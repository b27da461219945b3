// The command round trip's baseline: a trivial Fastify server whose one route answers a POSTed
// JSON body with itself. The bench's HTTP client times it exactly as it times the hub's
// POST /api/devices/:id/commands, so the difference is what the hub (auth, routing, the
// board link, the board) adds.
import Fastify from 'fastify';
import { serveRpc } from './common.js';

const app = Fastify({ logger: false });
app.post('/api/echo', (request, reply) => {
  void reply.send(request.body);
});
const listening = app.listen({ host: '127.0.0.1', port: 0 });

serveRpc({
  info: async () => {
    await listening;
    const address = app.server.address();
    return { port: typeof address === 'object' && address !== null ? address.port : 0 };
  },
});

// buildApi: the hub's REST + WebSocket API as a Fastify instance, not yet listening (the hub
// calls listen; tests call inject). Every route comes from an ApiRoute, so that the OpenAPI
// document lists exactly what is served.
import websocketPlugin from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { MAX_NESTING, nestingExceeds } from '../../protocol/codec.js';
import { TETHER_VERSION } from '../../protocol/version.js';
import { HubError } from '../errors.js';
import { chooseSubprotocol, requireScope, tokenAuthority, type AuthDeps } from './auth.js';
import { AuthFailureLimiter, DEFAULT_AUTH_LIMITS, type AuthLimits } from './auth-limiter.js';
import { loadDashboard, registerDashboard } from './dashboard.js';
import type { HubFacade } from './facade.js';
import { BODY_LIMIT_BYTES, errorHandler, sendError } from './http-errors.js';
import { openApiRoute } from './openapi.js';
import type { ApiContext, ApiLogger, ApiRoute, ApiTokenRegistry } from './route-spec.js';
import { boardRoutes } from './routes-boards.js';
import { deviceRoutes } from './routes-devices.js';
import { hubRoutes } from './routes-hub.js';
import { ruleRoutes } from './routes-rules.js';
import { rolloutRoutes } from './routes-rollouts.js';
import { telemetryRoutes } from './routes-telemetry.js';
import { tokenRoutes } from './routes-tokens.js';
import { STREAM_PING_MS, STREAM_SOCKET_OPTIONS, streamRoutes } from './stream.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The definition the route was registered from (see register below). */
    apiRoute?: ApiRoute;
    /** A file of the web dashboard (dashboard.ts), not an API route. */
    dashboard?: boolean;
  }
}

export interface BuildApiOptions {
  facade: HubFacade;
  /** The admin token (see ensureApiToken): every route but /api/openapi.json takes it. */
  apiToken: string;
  /** The named tokens with their scopes (HubStore.apiTokens). */
  tokens: ApiTokenRegistry;
  /** When wrong tokens lock an address out (default DEFAULT_AUTH_LIMITS). */
  authLimits?: Partial<AuthLimits>;
  /** How often wrong tokens are logged, one line per address (default every minute). */
  authReportMs?: number;
  logger?: ApiLogger;
  /** Reported by /api/health, the stream's hello and the OpenAPI document. */
  version?: string;
  /** Wall-clock ms (default Date.now); the default time ranges end at it. */
  now?: () => number;
  /** How often the stream pings each client, and drops one that did not answer the last ping. */
  streamPingMs?: number;
  /** Serve the web dashboard built into this folder at `/` (see dashboard.ts); none when absent. */
  dashboardDir?: string;
}

export async function buildApi(options: BuildApiOptions): Promise<FastifyInstance> {
  if (options.apiToken === '') throw new Error('buildApi: the API token is empty');
  const ctx: ApiContext = {
    facade: options.facade,
    tokens: options.tokens,
    version: options.version ?? TETHER_VERSION,
    logger: options.logger ?? { warn() {}, error() {} },
    now: options.now ?? Date.now,
    streamPingMs: options.streamPingMs ?? STREAM_PING_MS,
  };

  const app = Fastify({
    // Fastify's logger would write request URLs, and a stream URL may carry the token.
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    exposeHeadRoutes: false,
    // Its 503 has Fastify's body, not ours; the onRequest hook below answers shutting_down.
    return503OnClosing: false,
    // An unknown query parameter is a typo to report (bucket for bucket_ms), not one to drop.
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors: (err, _request, reply) => void sendError(reply, 'bad_request', `URL: ${err.message}`),
  });
  // Fastify would hand a text/plain body to the handler as a string; say what is wrong instead.
  app.removeContentTypeParser('text/plain');
  useShallowJsonParser(app);
  app.setErrorHandler(errorHandler(ctx.logger));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return sendError(reply, 'not_found', `no route ${request.method} ${path}; GET /api/openapi.json lists them`);
  });

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? new HubError('shutting_down', 'the hub is stopping; try again when it is back') : undefined);
  });

  const registered: ApiRoute[] = [];
  app.addHook('onRoute', (route) => {
    if (route.config?.dashboard === true) return;
    const spec = route.config?.apiRoute;
    if (spec === undefined) throw new Error(`${String(route.method)} ${route.url}: register API routes as ApiRoutes so that the OpenAPI document lists them`);
    registered.push(spec);
  });

  const auth: AuthDeps = {
    authority: tokenAuthority(options.apiToken, options.tokens),
    limiter: new AuthFailureLimiter({ ...DEFAULT_AUTH_LIMITS, ...options.authLimits }),
    now: ctx.now,
  };
  reportAuthFailures(app, auth, options.authReportMs ?? 60_000, ctx.logger);

  await app.register(websocketPlugin, { options: { ...STREAM_SOCKET_OPTIONS, handleProtocols: chooseSubprotocol } });

  const routes = [
    ...deviceRoutes(ctx),
    ...(ctx.facade.boards !== undefined ? boardRoutes(ctx.facade.boards) : []),
    ...telemetryRoutes(ctx),
    ...hubRoutes(ctx),
    ...ruleRoutes(ctx),
    ...tokenRoutes(ctx),
    ...rolloutRoutes(ctx),
    ...streamRoutes(ctx),
    openApiRoute(() => registered, ctx.version),
  ];
  for (const route of routes) register(app, route, auth);
  if (options.dashboardDir !== undefined) registerDashboard(app, loadDashboard(options.dashboardDir));
  return app;
}

/** Logs the wrong tokens of each address once per period, never once per request. */
function reportAuthFailures(app: FastifyInstance, auth: AuthDeps, periodMs: number, logger: ApiLogger): void {
  const timer = setInterval(() => {
    for (const line of auth.limiter.report(auth.now(), periodMs)) logger.warn(line);
  }, periodMs);
  timer.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(timer);
    done();
  });
}

function register(app: FastifyInstance, route: ApiRoute, auth: AuthDeps): void {
  const websocket = 'websocket' in route;
  app.route({
    method: route.method,
    url: route.url,
    schema: {
      ...(route.params !== undefined ? { params: route.params } : {}),
      ...(route.querystring !== undefined ? { querystring: route.querystring } : {}),
    },
    config: { apiRoute: route },
    ...(route.scope !== null ? { onRequest: requireScope(route.scope, websocket, auth) } : {}),
    ...(websocket ? { handler: notUpgraded, wsHandler: route.websocket } : { handler: route.handle }),
  });
}

function notUpgraded(request: FastifyRequest, _reply: FastifyReply): Promise<never> {
  return Promise.reject(new HubError('bad_request', `${request.routeOptions.url ?? 'this route'} is a WebSocket; connect with a WebSocket client (Upgrade: websocket)`));
}

/**
 * A command body is relayed to the board inside a link frame, one level deeper than the body,
 * and boards refuse frames nested deeper than MAX_NESTING; a body nested thousands deep also
 * overflowed the stack when the hub serialised it again (a 500). So the API refuses what the
 * board would, first and with a 400 that says so. Everything else (empty body, bad JSON,
 * __proto__ keys) stays with Fastify's own parser.
 */
export const BODY_MAX_NESTING = MAX_NESTING - 1;

function useShallowJsonParser(app: FastifyInstance): void {
  const fastifyJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestingExceeds(Buffer.from(body as string, 'utf8'), BODY_MAX_NESTING)) {
      done(new HubError('bad_request', `body: nests arrays or objects deeper than ${BODY_MAX_NESTING} levels; send a flatter request such as {"action":"ping"}`), undefined);
      return;
    }
    void fastifyJson(request, body as string, done);
  });
}

// The web dashboard's files (web/, built into dist/web by `npm run build`), served by the hub at
// `/` beside the API. They are few and small, so they are read once at start, gzipped once, and
// answered from memory; asset names carry a content hash, so browsers may keep them for good.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the dashboard: dist/web, from dist/src/hub/api. */
export const BUILT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

// The dashboard loads only its own files and talks only to this hub (REST and the stream).
// uPlot sizes its canvas through element styles, hence 'unsafe-inline' for styles only.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface DashboardFile {
  body: Buffer;
  gzipped: Buffer | undefined;
  type: string;
  etag: string;
  immutable: boolean;
}

/** The dashboard's files by URL path (`/`, `/assets/app-XXXX.js`); empty when it is not built. */
export function loadDashboard(dir: string): Map<string, DashboardFile> {
  const files = new Map<string, DashboardFile>();
  if (!fs.existsSync(path.join(dir, 'index.html'))) return files;
  for (const relative of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(dir, relative);
    if (!fs.statSync(full).isFile()) continue;
    const body = fs.readFileSync(full);
    const ext = path.extname(relative);
    const gzipped = ext === '.png' || ext === '.ico' ? undefined : gzipSync(body, { level: 9 });
    const url = relative === 'index.html' ? '/' : `/${relative.split(path.sep).join('/')}`;
    files.set(url, {
      body,
      gzipped: gzipped !== undefined && gzipped.length < body.length ? gzipped : undefined,
      type: TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: url.startsWith('/assets/'),
    });
  }
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Tether</title>
<h1>The dashboard is not built</h1>
<p>This hub serves its API at <a href="/api/openapi.json">/api</a>, but its web dashboard was not built.
Run <code>npm run build</code> in Tether's folder (or <code>npm ci</code> then <code>npm start</code>) and start the hub again.</p>`;

/**
 * Registers GET / and GET /assets/*. These are not API routes (no token: the page asks for one
 * and sends it with every API call), so they stay out of the OpenAPI document.
 */
export function registerDashboard(app: FastifyInstance, files: Map<string, DashboardFile>): void {
  const serve = (file: DashboardFile | undefined) => (request: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(SECURITY_HEADERS);
    if (file === undefined) return reply.code(files.size === 0 ? 503 : 404).type('text/html; charset=utf-8').send(files.size === 0 ? NOT_BUILT : 'not found');
    void reply.header('etag', file.etag).header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache').header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    void reply.type(file.type);
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (file.gzipped !== undefined && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzipped);
    return reply.send(file.body);
  };
  const dashboard = { dashboard: true };
  app.get('/', { config: dashboard }, serve(files.get('/')));
  app.get('/assets/*', { config: dashboard }, (request, reply) => serve(files.get(request.url.split('?')[0] ?? ''))(request, reply));
}

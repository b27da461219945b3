// A real HTTP server on 127.0.0.1 (port 0) standing in for what an http rule calls (Domoticz's
// /json.htm, a webhook): it records each request and answers as the test says.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Path and query, exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A status to answer with, or `hang`: never answer. */
export type Answer = number | 'hang';

export interface HttpEndpoint {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly requests: SeenRequest[];
  /** How to answer the next requests, in turn; after the last, 200. */
  answers: Answer[];
  /** Answers one request that is hanging, with this status. */
  releaseOne(status?: number): void;
  close(): Promise<void>;
}

export async function startHttpEndpoint(): Promise<HttpEndpoint> {
  const hanging: ServerResponse[] = [];
  const endpoint = {
    port: 0,
    base: '',
    requests: [] as SeenRequest[],
    answers: [] as Answer[],
    releaseOne(status = 200) {
      const res = hanging.shift();
      if (res === undefined) throw new Error('no request is hanging');
      res.writeHead(status).end('{"status":"OK"}');
    },
    close: async () => {
      for (const res of hanging.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      endpoint.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = endpoint.answers.shift() ?? 200;
      if (answer === 'hang') hanging.push(res);
      else res.writeHead(answer).end(answer < 400 ? '{"status":"OK"}' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.port = (server.address() as AddressInfo).port;
  endpoint.base = `http://127.0.0.1:${endpoint.port}`;
  return endpoint;
}

/** A loopback port nothing listens on (one the system just gave out and took back). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Every failure leaves the API as `{"error": {"code", "message"}}` with a code a client can act
// on: Fastify's own errors (bad JSON, body too large, schema validation) become bad_request, and
// anything unexpected becomes `internal` with the details in the hub's log, never in the reply.
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { HubError, httpStatusOf, type FieldProblem } from '../errors.js';
import { storageFaultCode } from '../store/storage-health.js';
import type { ApiLogger } from './route-spec.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface ErrorBody {
  error: { code: string; message: string; problems?: FieldProblem[] };
}

export function sendError(reply: FastifyReply, code: string, message: string, problems?: readonly FieldProblem[]): FastifyReply {
  if (code === 'unauthenticated') reply.header('WWW-Authenticate', 'Bearer realm="tether"');
  const body: ErrorBody = { error: { code, message, ...(problems !== undefined ? { problems: [...problems] } : {}) } };
  return reply.code(httpStatusOf(code)).type('application/json; charset=utf-8').send(body);
}

const EXAMPLE = '{"action":"ping"}';

/** Fastify's request errors, said in terms of the API. */
const FASTIFY_MESSAGES: Readonly<Record<string, string>> = {
  // Also a JSON text with a __proto__ or constructor.prototype key, which Fastify refuses.
  FST_ERR_CTP_INVALID_JSON_BODY: `body: not valid JSON, or it has a __proto__ key; send one JSON object such as ${EXAMPLE}`,
  FST_ERR_CTP_EMPTY_JSON_BODY: `body: empty; send one JSON object such as ${EXAMPLE}`,
  FST_ERR_CTP_BODY_TOO_LARGE: `body: larger than ${BODY_LIMIT_BYTES} bytes`,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Content-Type: the body must be application/json',
};

export function errorHandler(logger: ApiLogger) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof HubError) return sendError(reply, err.code, err.message, err.problems);
    // The store throws storage_full itself; a disk fault that reaches here by another way is no bug of the request's.
    const storageFault = storageFaultCode(err);
    if (storageFault !== undefined) {
      logger.error(`API ${request.method} ${request.routeOptions.url ?? '?'}: the disk refused a write: ${err.message}`);
      return sendError(reply, 'storage_full', `the hub cannot write to its database (${storageFault}); reads still work: free disk space in the hub's data folder`);
    }
    if (err.validation) return sendError(reply, 'bad_request', validationMessage(err.validation, err.validationContext));
    const known = FASTIFY_MESSAGES[err.code];
    if (known !== undefined) return sendError(reply, 'bad_request', known);
    // Fastify's other complaints about a request (a bad Content-Length, say). Only Fastify's own
    // codes: any other error's message could carry internals.
    if (err.code?.startsWith('FST_') && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, 'bad_request', err.message);
    }
    logger.error(`API ${request.method} ${request.routeOptions.url ?? '?'} failed: ${err.stack ?? String(err)}`);
    return sendError(reply, 'internal', "the hub failed while answering; the hub's log says why");
  };
}

const PART_NAMES: Readonly<Record<string, string>> = { querystring: 'query parameter', params: 'path parameter', body: 'body field', headers: 'header' };

/** One ajv error as "query parameter limit: must be <= 1000"; ajv stops at the first. */
export function validationMessage(errors: FastifySchemaValidationError[], part: string | undefined): string {
  const first = errors[0];
  const where = PART_NAMES[part ?? ''] ?? part ?? 'request';
  if (first === undefined) return `${where}: invalid`;
  const params = first.params as { missingProperty?: string; additionalProperty?: string };
  if (first.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    return `${where} ${params.additionalProperty}: unknown; the API reference (GET /api/openapi.json) lists the parameters`;
  }
  const field = params.missingProperty ?? first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  return `${where} ${field}: ${first.message ?? 'invalid'}`;
}

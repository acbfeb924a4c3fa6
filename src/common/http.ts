import accepts from 'accepts';
import { parse as parseCookieHeader, serialize as serializeCookie } from 'cookie';
import encodeUrl from 'encodeurl';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * What the service's controllers, guards, decorators and filters use of a request: a part of
 * Fastify's request that Express's has too, so that none of them depends on which framework
 * serves (only app.setup.ts and the helpers below know). Fields other modules attach (`auth`, the
 * throttler's) are declared there by interface merging.
 */
export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  /** The URL as it arrived (a mounted router's `url` is relative to its mount). */
  readonly originalUrl: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address, from X-Forwarded-For where the proxy is trusted (`TRUST_PROXY`). */
  readonly ip?: string;
  readonly socket: IncomingMessage['socket'];
  readonly query: Record<string, unknown>;
  readonly params: Record<string, unknown>;
  body?: unknown;
  /** The request's id (X-Request-Id), given by the request logging. */
  readonly id?: unknown;
}

/**
 * What the service's handlers and filters do to a response: a part of Fastify's reply that
 * Express's response has too. Redirects, cookies and the few things the two spell differently go
 * through the helpers below.
 */
export interface HttpResponse {
  readonly statusCode: number;
  status(code: number): this;
  /** Sets a header (never Set-Cookie: see setResponseCookie). */
  header(name: string, value: string): this;
  getHeader(name: string): unknown;
  getHeaders(): Record<string, unknown>;
  /** The full Content-Type (`text/html; charset=utf-8`, not a shorthand). */
  type(contentType: string): this;
  send(body?: string | Buffer): unknown;
}

/** The Content-Type of a page. */
export const HTML = 'text/html; charset=utf-8';

/** A request's first value of a header, or undefined. */
export function headerOf(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * What is kept on a request or a response object for the rest of its exchange, under symbols:
 * properties, not WeakMaps, since every request would add an entry to each WeakMap, and a heap
 * of ephemerons slowed every collection and held the memory (measured: a no-op server went from
 * 260 to 560 MiB and lost a fifth of its throughput).
 */
const COOKIES = Symbol('identity-link.cookies');
const FASTIFY_REQUEST = Symbol('identity-link.fastify-request');

type Kept<K extends symbol, V> = { [key in K]?: V };

/**
 * The request's cookies (RFC 6265's Cookie header, values percent-decoded where they decode),
 * parsed on first use and kept for the rest of the request: most requests read none.
 */
export function cookiesOf(request: HttpRequest): Readonly<Record<string, string | undefined>> {
  const kept = request as Kept<typeof COOKIES, Readonly<Record<string, string | undefined>>>;
  if (kept[COOKIES] !== undefined) return kept[COOKIES];
  const header = request.headers.cookie;
  return (kept[COOKIES] = header ? parseCookieHeader(header) : {});
}

/** The request's path: its URL up to the query, not decoded. */
export function pathOf(request: HttpRequest): string {
  return pathOfUrl(request.url);
}

/** A request target's path: up to its query, not decoded. */
export function pathOfUrl(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The pattern of the route the request reached (`/api/v1/pos/organizations/:id/members/import`)
 * as it was declared, or undefined before routing and when none matched. A rule about a kind of
 * route decides from this, never from the URL: the router matches escapes decoded and letters in
 * any case, so `/%61pi/…` and `/API/…` reach the API's handlers.
 */
export function routeOf(request: HttpRequest): string | undefined {
  return (request as unknown as Partial<FastifyRequest>).routeOptions?.url;
}

/** Which of `types` (`json`, `html`…) the request's Accept header prefers, or false. */
export function preferredType(request: HttpRequest, types: string[]): string | false {
  return accepts(nodeRequest(request)).type(types) as string | false;
}

/** The request a response answers. */
export function requestOf(response: HttpResponse): HttpRequest {
  return (response as unknown as FastifyReply).request as unknown as HttpRequest;
}

/** Whether the response has started (its status and headers are on their way). */
export function responseStarted(response: HttpResponse): boolean {
  return (response as unknown as FastifyReply).sent || nodeResponse(response).headersSent;
}

/**
 * 303 See Other to `location` (every redirect of a form post or a page here is one: the browser
 * follows it with a GET). Characters a header cannot carry are percent-encoded, escapes already
 * there are kept.
 */
export function seeOther(response: HttpResponse, location: string): void {
  response.status(303).header('Location', encodeUrl(location)).send();
}

/** A JSON answer. */
export function sendJson(response: HttpResponse, status: number, body: unknown): void {
  response.status(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** The flags of a cookie; the lifetime in milliseconds, the cookie a session cookie without it. */
export interface ResponseCookieOptions {
  httpOnly: boolean;
  sameSite: 'lax' | 'strict';
  secure: boolean;
  path: string;
  maxAgeMs?: number;
}

/**
 * Adds a Set-Cookie for `name` to the response (others set before stay). Written on Node's
 * response, so it goes out also with an answer the framework does not send itself (the
 * OpenID Provider's). A lifetime is sent both ways, Max-Age in seconds and Expires.
 */
export function setResponseCookie(
  response: HttpResponse | ServerResponse,
  name: string,
  value: string,
  { maxAgeMs, ...flags }: ResponseCookieOptions,
): void {
  const lifetime =
    maxAgeMs === undefined
      ? {}
      : { maxAge: Math.floor(maxAgeMs / 1000), expires: new Date(Date.now() + maxAgeMs) };
  nodeResponse(response).appendHeader(
    'Set-Cookie',
    serializeCookie(name, value, { ...flags, ...lifetime }),
  );
}

/** Tells the browser to drop cookie `name` (the flags must be those it was set with). */
export function clearResponseCookie(
  response: HttpResponse | ServerResponse,
  name: string,
  { maxAgeMs: _lifetime, ...flags }: ResponseCookieOptions,
): void {
  nodeResponse(response).appendHeader(
    'Set-Cookie',
    serializeCookie(name, '', { ...flags, expires: new Date(0) }),
  );
}

/** Node's request under the framework's (what a library that takes `IncomingMessage` needs). */
export function nodeRequest(request: HttpRequest): IncomingMessage {
  return (
    (request as unknown as { raw?: IncomingMessage }).raw ?? (request as unknown as IncomingMessage)
  );
}

/** Node's response under the framework's (or Node's own, as oidc-provider's `ctx.res`). */
export function nodeResponse(response: HttpResponse | ServerResponse): ServerResponse {
  return (
    (response as unknown as { raw?: ServerResponse }).raw ?? (response as unknown as ServerResponse)
  );
}

/** Links Node's request to Fastify's (the HTTP set-up does, as each request comes in). */
export function adoptRequest(request: FastifyRequest): void {
  (request.raw as Kept<typeof FASTIFY_REQUEST, FastifyRequest>)[FASTIFY_REQUEST] = request;
}

/**
 * The framework's request for Node's own: what code called back by a library that sees only
 * Node's request (oidc-provider's `ctx.req`) uses to read cookies, the client's address and the
 * request's id.
 */
export function frameworkRequest(request: IncomingMessage): HttpRequest {
  const adopted = (request as Kept<typeof FASTIFY_REQUEST, FastifyRequest>)[FASTIFY_REQUEST];
  if (!adopted) throw new Error('a request the HTTP set-up did not see');
  return adopted as unknown as HttpRequest;
}

import { type NextFunction, type Request, type Response } from 'express';
import { type DestinationStream } from 'pino';

/**
 * The log capture of one spec file. test/support/log-check.ts switches it on for every spec file
 * that starts the service in process; startTestApp then logs at `trace` (the most verbose level)
 * into it instead of being silent, and records every secret that crosses the app's HTTP boundary.
 * The file's last test searches the capture for those secrets (test/support/log-check.ts).
 *
 * Secrets are recorded at the app boundary rather than in each helper because spec files pull
 * tokens out of mails, pages and redirects on their own as much as through test/support: every
 * password, link token, cookie, bearer token, `code` and `state` a test uses is sent to the app,
 * and every cookie and redirect the app hands out passes back through it. Mailed links are
 * recorded when the test SMTP server receives them (test/support/smtp.ts).
 */

/** Shorter values are too common to search for (a wrong password such as «short»). */
const MIN_SECRET_LENGTH = 8;

export interface LogCapture {
  lines: string[];
  /** secret → what it is */
  secrets: Map<string, string>;
  /**
   * Values the spec itself sent where logging them is allowed (path segments, ordinary fields).
   * A fuzzer sends the same junk as a password and as an id; seeing it in a logged path then
   * proves nothing, so such a value is not searched for.
   */
  sentInTheOpen: Set<string>;
  /** How many lines the check has searched; the environment searches the rest after teardown. */
  checkedLines: number;
  findLeaks(fromLine?: number): Leak[];
}

const KEY = Symbol.for('identity-link.test.log-capture');
type WithCapture = typeof globalThis & { [KEY]?: LogCapture };

export function enableLogCapture(): LogCapture {
  const capture: LogCapture = {
    lines: [],
    secrets: new Map(),
    sentInTheOpen: new Set(),
    checkedLines: 0,
    findLeaks: (fromLine = 0) => findLeaks(capture, fromLine),
  };
  (globalThis as WithCapture)[KEY] = capture;
  return capture;
}

export function activeLogCapture(): LogCapture | undefined {
  return (globalThis as WithCapture)[KEY];
}

export function recordSecret(kind: string, value: unknown): void {
  const capture = activeLogCapture();
  if (!capture || typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  if (!capture.secrets.has(value)) capture.secrets.set(value, kind);
}

function recordOpen(value: unknown): void {
  if (typeof value === 'string' && value.length > 0) activeLogCapture()?.sentInTheOpen.add(value);
}

/** Where startTestApp's logger writes: the capture, and the spec's own stream if it gave one. */
export function captureDestination(
  capture: LogCapture,
  also?: DestinationStream,
): DestinationStream {
  return {
    write(line: string) {
      capture.lines.push(line);
      also?.write(line);
    },
  };
}

const LINK_PATH = /^\/(?:pos\/invitations|reset-password|verify-email)\/([^/]+)/;
const MAILED_LINK = /\/(?:pos\/invitations|reset-password|verify-email)\/([A-Za-z0-9_-]{43})/g;
const SECRET_FIELD = /password|^token$|^csrf$|^state$|^code$|^nonce$|^code_verifier$/i;
const SECRET_QUERY = new Set(['code', 'state', 'nonce', 'token', 'code_challenge']);

export function recordMailedLinks(text: string): void {
  for (const match of text.matchAll(MAILED_LINK)) recordSecret('mailed link token', match[1]);
}

/** Set-Cookie attributes, which a test may echo back in a Cookie header. */
const COOKIE_ATTRIBUTE = /^(?:path|expires|domain|max-age|samesite|secure|httponly)$/i;

function recordCookies(kind: string, header: string): void {
  for (const pair of header.split(';')) {
    const index = pair.indexOf('=');
    const name = pair.slice(0, index).trim();
    if (index > 0 && !COOKIE_ATTRIBUTE.test(name))
      recordSecret(`${kind} ${name}`, pair.slice(index + 1));
  }
}

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

function recordUrl(kind: string, url: string, open: boolean): void {
  const parsed = new URL(url, 'http://test.invalid');
  const token = LINK_PATH.exec(parsed.pathname)?.[1];
  recordSecret(`${kind} link token`, token);
  if (open)
    for (const segment of parsed.pathname.split('/'))
      if (segment !== token) {
        // Logs show the path as it came, percent-encoding and all.
        recordOpen(segment);
        recordOpen(decode(segment));
      }
  for (const [name, value] of parsed.searchParams) {
    if (SECRET_QUERY.has(name)) recordSecret(`${kind} ${name}`, value);
    else if (open) recordOpen(value);
  }
}

function recordBody(value: unknown, name: string, depth: number): void {
  if (typeof value === 'string') {
    if (SECRET_FIELD.test(name)) recordSecret(`body ${name}`, value);
    else recordOpen(value);
  } else if (value && typeof value === 'object' && depth < 4) {
    for (const [key, item] of Object.entries(value as Record<string, unknown>))
      recordBody(item, Array.isArray(value) ? name : key, depth + 1);
  }
}

/**
 * Express middleware (test apps only, ahead of everything else, so requests that a body parser or
 * a guard refuses count too): notes the secrets of each request, of its parsed body once there is
 * one, and of its answer's Set-Cookie and Location headers.
 */
export function recordSecretsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const authorization = req.headers.authorization;
  if (authorization) recordSecret('Authorization header', authorization.replace(/^\S+\s+/, ''));
  if (req.headers.cookie) recordCookies('cookie', req.headers.cookie);
  recordUrl('request', req.originalUrl, true);
  res.on('finish', () => {
    recordBody(req.body, '', 0);
    const setCookie = res.getHeader('set-cookie');
    for (const line of [setCookie ?? []].flat())
      recordCookies('Set-Cookie', String(line).split(';')[0]);
    const location = res.getHeader('location');
    if (typeof location === 'string') recordUrl('Location', location, false);
  });
  next();
}

export interface Leak {
  /** 1-based line of the file's capture */
  line: number;
  what: string;
  /** The line with the secret itself masked, enough to find the code that logged it. */
  excerpt: string;
}

/** Shapes that are never fine in a log line, whoever the secret belonged to. */
const FORBIDDEN: [string, RegExp][] = [
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/],
  [
    'a raw Cookie/Authorization header',
    /"(?:cookie|set-cookie|authorization|proxy-authorization)"\s*:\s*(?!"\[redacted\]")/i,
  ],
  ['a bearer token', /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/],
  ['a session or form cookie', /\b(?:__Host-)?il_(?:session|csrf|gosuslugi_tx)=[^;\s"]{8,}/],
];

/** Every captured line from `fromLine` (0-based) on that holds a recorded secret or a forbidden shape. */
export function findLeaks(capture: LogCapture, fromLine = 0): Leak[] {
  const lines = capture.lines.slice(fromLine);
  const leaks: Leak[] = [];
  const mask = (line: string, secret: string, what: string) =>
    line.split(secret).join(`«${what}»`).slice(0, 400);
  lines.forEach((line, index) => {
    for (const [what, pattern] of FORBIDDEN) {
      const found = pattern.exec(line);
      if (found)
        leaks.push({ line: fromLine + index + 1, what, excerpt: mask(line, found[0], what) });
    }
  });
  // One pass per secret over the whole capture: far cheaper than one per line and secret.
  const text = lines.join('');
  const open = [...capture.sentInTheOpen].join('\u0000');
  const starts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += line.length;
  }
  const lineAt = (position: number) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle] <= position) low = middle;
      else high = middle - 1;
    }
    return low;
  };
  for (const [secret, what] of capture.secrets) {
    let at = text.indexOf(secret);
    if (at === -1 || open.includes(secret)) continue;
    while (at !== -1) {
      const index = lineAt(at);
      leaks.push({
        line: fromLine + index + 1,
        what,
        excerpt: mask(lines[index], secret, what),
      });
      at = text.indexOf(secret, starts[index] + lines[index].length);
    }
  }
  return leaks.sort((a, b) => a.line - b.line);
}

import { type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { frameworkRequest } from '../../src/common/http.js';
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
 *
 * Service and command-line processes that a spec spawns (the built dist/main.js and dist/cli.js)
 * feed their stdout and stderr into the same capture, line by line (`captureChildOutput`), and log
 * at `trace` too. Their HTTP boundary is out of reach, so the secrets they see are recorded where
 * the spec sends them: its `fetch` calls (`recordSecretsOfFetch`, installed by log-check.ts), the
 * pages of a Chromium it launched (test/support/chromium.ts), the secrets in the process's
 * environment, and the ones the process prints on purpose.
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
  /**
   * 0-based line → the secrets that line shows on purpose: the development demo operator's
   * password and the development mailbox's links as the service announces them, a password a
   * command prints once. Only that line is excused for only that secret; anywhere else it leaks.
   */
  excused: Map<number, Set<string>>;
  /** Secrets still being read from a browser's traffic; the check waits for them. */
  recording: Set<Promise<unknown>>;
  /** Spawned processes whose output may still come: each settles once its pipes are closed. */
  children: Set<Promise<unknown>>;
  findLeaks(fromLine?: number): Leak[];
  /** Waits for pending recordings and, up to `timeoutMs`, for the spawned processes' last output. */
  settle(timeoutMs: number): Promise<void>;
}

const KEY = Symbol.for('identity-link.test.log-capture');
type WithCapture = typeof globalThis & { [KEY]?: LogCapture };

export function enableLogCapture(): LogCapture {
  const capture: LogCapture = {
    lines: [],
    secrets: new Map(),
    sentInTheOpen: new Set(),
    checkedLines: 0,
    excused: new Map(),
    recording: new Set(),
    children: new Set(),
    findLeaks: (fromLine = 0) => findLeaks(capture, fromLine),
    settle: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([...capture.children]), timeout]);
      clearTimeout(timer);
      await Promise.allSettled([...capture.recording]);
    },
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

/** The link tokens (invitation, password reset, e-mail verification) in a text. */
export function mailedLinkTokens(text: string): string[] {
  return [...text.matchAll(MAILED_LINK)].map((match) => match[1]);
}

export function recordMailedLinks(text: string): void {
  for (const token of mailedLinkTokens(text)) recordSecret('mailed link token', token);
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
 * The first layer of a test app (ahead of everything else, so requests that a body parser or a
 * guard refuses count too): notes the secrets of each request, of its parsed body once there is
 * one, and of its answer's Set-Cookie and Location headers.
 */
export function recordSecretsLayer(
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  const authorization = req.headers.authorization;
  if (authorization) recordSecret('Authorization header', authorization.replace(/^\S+\s+/, ''));
  if (req.headers.cookie) recordCookies('cookie', req.headers.cookie);
  recordUrl('request', req.url ?? '', true);
  res.on('finish', () => {
    recordBody(frameworkRequest(req).body, '', 0);
    const setCookie = res.getHeader('set-cookie');
    for (const line of [setCookie ?? []].flat())
      recordCookies('Set-Cookie', String(line).split(';')[0]);
    const location = res.getHeader('location');
    if (typeof location === 'string') recordUrl('Location', location, false);
  });
  next();
}

/** A request the spec sends itself (fetch, Chromium): the same secrets the middleware notes. */
export function recordOutgoingRequest(
  url: string,
  headers: Record<string, string>,
  body?: string | null,
): void {
  const header = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const authorization = header('authorization');
  if (authorization) recordSecret('Authorization header', authorization.replace(/^\S+\s+/, ''));
  const cookie = header('cookie');
  if (cookie) recordCookies('cookie', cookie);
  recordUrl('request', url, true);
  if (!body) return;
  const type = header('content-type') ?? '';
  if (type.includes('application/x-www-form-urlencoded'))
    for (const [name, value] of new URLSearchParams(body)) recordBody(value, name, 1);
  else if (type.includes('json'))
    try {
      recordBody(JSON.parse(body), '', 0);
    } catch {
      // Not JSON after all (a fuzzed body): nothing to take apart.
    }
}

/** An answer the spec receives itself: its cookies and where it redirects. */
export function recordAnswer(setCookies: string[], location?: string | null): void {
  for (const line of setCookies) recordCookies('Set-Cookie', line.split(';')[0]);
  if (location) recordUrl('Location', location, false);
}

/**
 * Wraps the test global's `fetch` (test/support/browser.ts and every direct call) so that what a
 * spec sends to a spawned service is known to the check, as the middleware does for test apps.
 */
export function recordSecretsOfFetch(): void {
  const fetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const request = input instanceof globalThis.Request ? input : undefined;
    const url = input instanceof globalThis.Request ? input.url : input.toString();
    const headers = new Headers(init?.headers ?? request?.headers);
    const body = init?.body;
    recordOutgoingRequest(
      url,
      Object.fromEntries(headers),
      typeof body === 'string' || body instanceof URLSearchParams ? String(body) : undefined,
    );
    const response = await fetch(input, init);
    recordAnswer(response.headers.getSetCookie(), response.headers.get('location'));
    return response;
  };
}

/** Private members of a JWK (RFC 7518): the signing key in TOKEN_SIGNING_KEY. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/**
 * The secrets a spawned process is given in its environment: the password of any URL
 * (DATABASE_URL, SMTP_URL, REDIS_URL), every …SECRET/…PASSWORD value, a private JWK's members.
 */
export function recordEnvironmentSecrets(env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      const password = URL.canParse(value) ? new URL(value).password : '';
      recordSecret(`${name} password`, password);
      recordSecret(`${name} password`, decode(password));
    } else if (/SECRET|PASSWORD/i.test(name)) {
      recordSecret(name, value);
    } else if (value.startsWith('{')) {
      try {
        const jwk = JSON.parse(value) as Record<string, unknown>;
        for (const member of PRIVATE_JWK_MEMBERS) recordSecret(`${name} "${member}"`, jwk[member]);
      } catch {
        // Not JSON: nothing to take apart.
      }
    }
  }
}

/**
 * Feeds a spawned process's stdout and stderr into the active capture, a line at a time, each line
 * marked with where it came from. `shownOnPurpose` picks out the secrets a line prints on purpose
 * (the development demo operator's password, the development mailbox's links, a password «shown
 * once» by the command line): each is recorded, and excused in that line only. Without a capture
 * (a file with no log check) nothing is kept.
 */
export function captureChildOutput(
  child: ChildProcess,
  source: string,
  shownOnPurpose?: (line: string) => { what: string; secret: string }[],
): void {
  const capture = activeLogCapture();
  if (!capture) return;
  const label = `[${source}, pid ${child.pid ?? '?'}]`;
  const pushLine = (stream: string, line: string) => {
    for (const { what, secret } of shownOnPurpose?.(line) ?? []) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      recordSecret(what, secret);
      const excused = capture.excused.get(capture.lines.length) ?? new Set<string>();
      capture.excused.set(capture.lines.length, excused.add(secret));
    }
    capture.lines.push(`${label} ${stream}: ${line}\n`);
  };
  const closed: Promise<unknown>[] = [];
  for (const [stream, pipe] of [
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ] as const) {
    if (!pipe) continue;
    let rest = '';
    // Other listeners (readiness, the spec's own) keep getting Buffers: decode a copy here.
    const decoder = new StringDecoder('utf8');
    pipe.on('data', (chunk: Buffer) => {
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop()!;
      for (const line of lines) pushLine(stream, line);
    });
    closed.push(
      new Promise<void>((resolve) =>
        pipe.once('close', () => {
          rest += decoder.end();
          if (rest) pushLine(stream, rest);
          resolve();
        }),
      ),
    );
  }
  capture.children.add(Promise.all(closed));
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
      if (!capture.excused.get(fromLine + index)?.has(secret))
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

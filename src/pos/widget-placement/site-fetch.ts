import { lookup as dnsLookup } from 'node:dns/promises';
import { request, type RequestOptions } from 'node:https';
import { type IncomingMessage } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { isPublicAddress } from './address-policy.js';

/** Why a site could not be read; stored with the «сайт недоступен» state and shown in Russian. */
export const UNAVAILABLE_REASONS = [
  'invalid_url',
  'not_https',
  'port_not_allowed',
  'private_address',
  'dns_failed',
  'timeout',
  'tls_failed',
  'connection_failed',
  'http_status',
  'not_html',
  'too_large',
  'too_many_redirects',
] as const;
export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[number];

export type FetchOutcome =
  | { ok: true; url: string; html: string }
  | { ok: false; reason: UnavailableReason; detail?: string };

export interface FetchPolicy {
  /**
   * Which resolved addresses may be connected to: public ones (isPublicAddress) unless a test
   * says otherwise (WIDGET_CHECK_ALLOW_PRIVATE, or a spec's own rule).
   */
  allowAddress?: (address: string) => boolean;
  /**
   * Which ports an address may name (`URL.port`, '' for https's own 443): none but 443
   * (httpsPortOnly) unless a test says otherwise (its local site listens elsewhere).
   */
  allowPort?: (port: string) => boolean;
  /** Tests only: an extra trusted CA (PEM), added to Node's public roots. */
  extraCa?: string;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

/** The rules of the placement check: 5 s for the whole chain, 1 MiB, at most 3 redirects. */
export const SITE_FETCH_LIMITS = { timeoutMs: 5000, maxBytes: 1024 * 1024, maxRedirects: 3 };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * An official site is on https's own port: another port of a public address is some other
 * service (an admin panel, a mail or database port), which the check must not be made to probe.
 * `URL` writes 443 in an https address as ''.
 */
export const httpsPortOnly = (port: string): boolean => port === '';

class Unavailable extends Error {
  constructor(
    readonly reason: UnavailableReason,
    readonly detail?: string,
  ) {
    super(reason);
  }
}

/** One address the name resolves to, checked against the policy; the connection goes there only. */
async function checkedAddress(
  hostname: string,
  policy: FetchPolicy,
  signal: AbortSignal,
): Promise<{ address: string; family: 4 | 6 }> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      // The resolver takes no signal: the chain's deadline wins the race.
      const aborted = new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(new Unavailable('timeout')), { once: true }),
      );
      addresses = await Promise.race([dnsLookup(host, { all: true, verbatim: true }), aborted]);
    } catch (error) {
      if (error instanceof Unavailable) throw error;
      throw new Unavailable('dns_failed', (error as NodeJS.ErrnoException).code);
    }
  }
  if (addresses.length === 0) throw new Unavailable('dns_failed');
  // Every address must be public: a name that also resolves inward is refused, not filtered.
  const allowed = policy.allowAddress ?? isPublicAddress;
  const refused = addresses.find(({ address }) => !allowed(address));
  if (refused) throw new Unavailable('private_address', refused.address);
  const { address, family } = addresses[0];
  return { address, family: family === 6 ? 6 : 4 };
}

/** net's lookup answered with the address checked above, whatever DNS says by then (no rebinding). */
function pinned(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function get(url: URL, options: RequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, options, resolve);
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw new Unavailable('too_large');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      response.destroy();
      throw new Unavailable('too_large');
    }
    chunks.push(chunk);
  }
  // The widget code is ASCII: latin1 reads any page's bytes without failing on its charset.
  return Buffer.concat(chunks).toString('latin1');
}

function classify(error: unknown, signal: AbortSignal): Unavailable {
  if (error instanceof Unavailable) return error;
  if (signal.aborted) return new Unavailable('timeout');
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (/CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO/i.test(code)) return new Unavailable('tls_failed', code);
  return new Unavailable('connection_failed', code || undefined);
}

/**
 * Fetches an official site's page for the placement check: https on port 443 only, each hop's address
 * resolved, checked and then connected to (the TLS name stays the site's), redirects followed by
 * hand and each target checked again, one deadline for the chain, a size limit, text/html only.
 */
export async function fetchSite(address: string, policy: FetchPolicy): Promise<FetchOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  try {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return { ok: false, reason: 'invalid_url' };
    }
    for (let hop = 0; ; hop += 1) {
      if (url.protocol !== 'https:') return { ok: false, reason: 'not_https' };
      if (!(policy.allowPort ?? httpsPortOnly)(url.port))
        return { ok: false, reason: 'port_not_allowed', detail: url.port };
      const target = await checkedAddress(url.hostname, policy, controller.signal);
      if (controller.signal.aborted) throw new Unavailable('timeout');
      const response = await get(url, {
        method: 'GET',
        agent: false,
        lookup: pinned(target.address, target.family),
        ca: policy.extraCa ? [...rootCertificates, policy.extraCa] : undefined,
        signal: controller.signal,
        headers: {
          accept: 'text/html',
          'accept-encoding': 'identity',
          'user-agent': 'IdentityLink-WidgetCheck/1.0',
        },
      });
      const remote = response.socket.remoteAddress?.replace(/^::ffff:/, '');
      if (remote && remote !== target.address.replace(/^::ffff:/, '')) {
        response.destroy();
        throw new Unavailable('connection_failed', 'unexpected peer');
      }
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location) {
        response.resume();
        if (hop >= policy.maxRedirects) return { ok: false, reason: 'too_many_redirects' };
        url = new URL(location, url);
        continue;
      }
      if (status < 200 || status > 299) {
        response.resume();
        return { ok: false, reason: 'http_status', detail: String(status) };
      }
      const type = (response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'text/html') {
        response.destroy();
        return { ok: false, reason: 'not_html', detail: type || undefined };
      }
      return { ok: true, url: url.href, html: await readBody(response, policy.maxBytes) };
    }
  } catch (error) {
    const unavailable = classify(error, controller.signal);
    return { ok: false, reason: unavailable.reason, detail: unavailable.detail };
  } finally {
    clearTimeout(timer);
  }
}

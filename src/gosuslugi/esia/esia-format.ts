/** ЕСИА's request timestamp: `yyyy.MM.dd HH:mm:ss +0300`, Moscow time whatever the server's zone. */
export function esiaTimestamp(date: Date = new Date()): string {
  const moscow = new Date(date.getTime() + 3 * 3_600_000);
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${moscow.getUTCFullYear()}.${pad(moscow.getUTCMonth() + 1)}.${pad(moscow.getUTCDate())} ` +
    `${pad(moscow.getUTCHours())}:${pad(moscow.getUTCMinutes())}:${pad(moscow.getUTCSeconds())} +0300`
  );
}

const TIMESTAMP = /^(\d{4})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** Parses an ЕСИА timestamp back to an instant; null when it is not in that format. */
export function parseEsiaTimestamp(value: string): Date | null {
  const match = TIMESTAMP.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, sign, oh, om] = match;
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const instant =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset;
  return Number.isNaN(instant) ? null : new Date(instant);
}

/**
 * The text signed into `client_secret`: client_id + scope + timestamp + state + redirect_uri,
 * then the code on a token request with a code (nothing on a refresh).
 */
export function clientSecretText(parts: {
  clientId: string;
  scope: string;
  timestamp: string;
  state: string;
  redirectUri: string;
  code?: string;
}): string {
  return (
    parts.clientId +
    parts.scope +
    parts.timestamp +
    parts.state +
    parts.redirectUri +
    (parts.code ?? '')
  );
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

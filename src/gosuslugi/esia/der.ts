/**
 * Just enough DER to read the public key out of an X.509 certificate and to build the
 * self-signed development certificates of the ЕСИА stand-in (Node's crypto cannot parse or make
 * GOST certificates). Not a general ASN.1 library.
 */
export interface Tlv {
  tag: number;
  /** The whole element, header included. */
  raw: Buffer;
  content: Buffer;
}

export function readTlv(data: Buffer, offset = 0): Tlv {
  if (offset + 2 > data.length) throw new Error('DER: truncated');
  const tag = data[offset];
  let length = data[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > data.length)
      throw new Error('DER: bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + data[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > data.length) throw new Error('DER: truncated');
  return { tag, raw: data.subarray(offset, end), content: data.subarray(offset + header, end) };
}

/** The children of a constructed element. */
export function children(element: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let offset = 0; offset < element.content.length;) {
    const child = readTlv(element.content, offset);
    result.push(child);
    offset += child.raw.length;
  }
  return result;
}

export function decodeOid(content: Buffer): string {
  const parts = [Math.floor(content[0] / 40), content[0] % 40];
  let value = 0;
  for (const byte of content.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const der = {
  sequence: (...items: Buffer[]) => tlv(0x30, ...items),
  set: (...items: Buffer[]) => tlv(0x31, ...items),
  /** A non-negative integer from big-endian bytes, minimally encoded as DER requires. */
  integer: (value: Buffer) => {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const digits = value.subarray(start);
    return tlv(0x02, digits[0] & 0x80 ? Buffer.concat([Buffer.from([0]), digits]) : digits);
  },
  null: () => Buffer.from([0x05, 0x00]),
  octetString: (value: Buffer) => tlv(0x04, value),
  bitString: (value: Buffer) => tlv(0x03, Buffer.from([0]), value),
  utf8: (value: string) => tlv(0x0c, Buffer.from(value, 'utf8')),
  utcTime: (date: Date) =>
    tlv(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'ascii')),
  explicit: (number: number, content: Buffer) => tlv(0xa0 | number, content),
  oid: (dotted: string) => {
    const [first, second, ...rest] = dotted.split('.').map(Number);
    const bytes = [first * 40 + second];
    for (const part of rest) {
      const chunk = [part & 0x7f];
      for (let value = Math.floor(part / 128); value > 0; value = Math.floor(value / 128))
        chunk.unshift((value & 0x7f) | 0x80);
      bytes.push(...chunk);
    }
    return tlv(0x06, Buffer.from(bytes));
  },
};

export function pemToDer(text: string, label = 'CERTIFICATE'): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(text);
  if (!match) throw new Error(`no ${label} PEM block`);
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}

export function derToPem(data: Buffer, label = 'CERTIFICATE'): string {
  const lines = data.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

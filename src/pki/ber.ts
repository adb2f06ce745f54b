/**
 * A small BER reader for CMS: indefinite lengths and constructed OCTET STRINGs, as Bouncy
 * Castle's and OpenSSL's streaming encoders write them (pkijs took ~15 ms per message here, this
 * well under one). Strict DER elsewhere is der.ts; what a signature covers must be definite
 * (`definiteBytes`).
 */
import { decodeOid } from './der.ts';

export interface Ber {
  tag: number;
  constructed: boolean;
  /** First content octet. */
  start: number;
  /** Just past the last content octet (before the end-of-contents octets when indefinite). */
  end: number;
  /** Offset of the next TLV. */
  next: number;
  /** Offset of the identifier octet. */
  at: number;
  indefinite: boolean;
}

const MAX_DEPTH = 64;

/** One BER element at `offset`, not reaching past `limit`. Throws on anything malformed. */
export function readBer(buf: Uint8Array, offset: number, limit = buf.length, depth = 0): Ber {
  if (depth > MAX_DEPTH) throw new Error('BER: nested too deeply');
  let p = offset;
  if (p >= limit) throw new Error('BER: truncated (expected a tag)');
  const first = buf[p++];
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    let count = 0;
    let b: number;
    do {
      if (p >= limit) throw new Error('BER: truncated tag');
      b = buf[p++];
      tag = tag * 256 + b;
      if (++count > 3) throw new Error('BER: tag too large');
    } while (b & 0x80);
  }
  const constructed = (first & 0x20) !== 0;
  if (p >= limit) throw new Error('BER: truncated (expected a length)');
  const l0 = buf[p++];
  if (l0 === 0x80) {
    if (!constructed) throw new Error('BER: indefinite length on a primitive value');
    const start = p;
    let q = p;
    for (;;) {
      if (q + 2 > limit) throw new Error('BER: missing end-of-contents');
      if (buf[q] === 0 && buf[q + 1] === 0) return { tag, constructed, start, end: q, next: q + 2, at: offset, indefinite: true };
      q = readBer(buf, q, limit, depth + 1).next;
    }
  }
  let len = l0;
  if (l0 > 0x80) {
    const k = l0 & 0x7f;
    if (k > 4 || p + k > limit) throw new Error('BER: bad length');
    len = 0;
    for (let i = 0; i < k; i++) len = len * 256 + buf[p++];
  }
  const end = p + len;
  if (end > limit) throw new Error('BER: truncated value');
  return { tag, constructed, start: p, end, next: end, at: offset, indefinite: false };
}

/** The elements inside a constructed element. */
export function berChildren(buf: Uint8Array, parent: Ber): Ber[] {
  if (!parent.constructed) throw new Error('BER: expected a constructed value');
  const out: Ber[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const c = readBer(buf, p, parent.end);
    out.push(c);
    p = c.next;
  }
  return out;
}

/** A whole single element: `buf` must hold exactly one. */
export function readBerRoot(buf: Uint8Array, what: string): Ber {
  const b = readBer(buf, 0);
  if (b.next !== buf.length) throw new Error(`trailing data after ${what}`);
  return b;
}

export function expectBer(b: Ber | undefined, tag: number, what: string): Ber {
  if (!b || b.tag !== tag) throw new Error(`expected ${what}`);
  return b;
}

/** The whole encoding of an element (identifier to end). */
export function berBytes(buf: Uint8Array, b: Ber): Buffer {
  return Buffer.from(buf.subarray(b.at, b.next));
}

/** The whole encoding of a definite-length element (signatures cover DER: indefinite forms are refused there). */
export function definiteBytes(buf: Uint8Array, b: Ber, what: string): Buffer {
  if (b.indefinite) throw new Error(`${what} is not DER`);
  return berBytes(buf, b);
}

/** OCTET STRING contents (any tag number: IMPLICIT tags too), primitive or constructed (chunks joined). */
export function berOctets(buf: Uint8Array, b: Ber, depth = 0): Buffer {
  if (!b.constructed) return Buffer.from(buf.subarray(b.start, b.end));
  if (depth > 8) throw new Error('BER: constructed string nested too deeply');
  return Buffer.concat(
    berChildren(buf, b).map((c) => {
      if (c.tag !== 0x04 && c.tag !== 0x24) throw new Error('BER: constructed string holds a non-OCTET STRING');
      return berOctets(buf, c, depth + 1);
    }),
  );
}

/** Contents of a (universal) OCTET STRING. */
export function octetString(buf: Uint8Array, b: Ber | undefined, what: string): Buffer {
  if (!b || (b.tag & 0xdf) !== 0x04) throw new Error(`expected ${what} (OCTET STRING)`);
  return berOctets(buf, b);
}

export function berOid(buf: Uint8Array, b: Ber | undefined, what = 'OBJECT IDENTIFIER'): string {
  if (!b || b.tag !== 0x06 || b.constructed) throw new Error(`expected ${what}`);
  return decodeOid(buf, b.start, b.end);
}

/** A non-negative INTEGER that fits a JavaScript number (versions, lengths). */
export function berSmallInt(buf: Uint8Array, b: Ber | undefined, what: string): number {
  if (!b || b.tag !== 0x02 || b.end - b.start > 4 || b.end === b.start || buf[b.start] & 0x80) throw new Error(`expected ${what} (small INTEGER)`);
  let v = 0;
  for (let i = b.start; i < b.end; i++) v = v * 256 + buf[i];
  return v;
}

/** UTCTime or GeneralizedTime (Z only). */
export function berTime(buf: Uint8Array, b: Ber): Date | undefined {
  const s = Buffer.from(buf.subarray(b.start, b.end)).toString('latin1');
  const m = b.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : b.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s) : null;
  if (!m) return undefined;
  const y = b.tag === 0x17 ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** AlgorithmIdentifier: the OID and the DER of the whole identifier (for parameters). */
export function berAlgorithm(buf: Uint8Array, b: Ber | undefined, what: string): { oid: string; der: Buffer } {
  const s = expectBer(b, 0x30, what);
  const [o] = berChildren(buf, s);
  return { oid: berOid(buf, o, `${what} algorithm`), der: definiteBytes(buf, s, what) };
}

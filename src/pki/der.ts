/**
 * A tiny hand-written DER encoder and a minimal strict reader.
 *
 * Why: pkijs/asn1js build about 1,100 P-256 certificates per second because of ASN.1 object
 * overhead; building TBSCertificate / TBSCertList bytes directly into Buffers is an order of
 * magnitude faster. This is not crypto: node:crypto signs and hashes.
 *
 * Every encoder returns a fresh Buffer except `oid()`, whose encodings are cached and shared:
 * never mutate a returned OID Buffer.
 */

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

function tagLength(tag: number): number {
  if (tag <= 0xff) return 1;
  if (tag <= 0xffff) return 2;
  if (tag <= 0xffffff) return 3;
  return 4;
}

function lengthLength(len: number): number {
  if (len < 0x80) return 1;
  if (len <= 0xff) return 2;
  if (len <= 0xffff) return 3;
  if (len <= 0xffffff) return 4;
  return 5;
}

/** Writes identifier and length octets at offset 0; returns the header length. */
function writeHeader(out: Buffer, tag: number, len: number): number {
  let p = 0;
  const tl = tagLength(tag);
  for (let i = tl - 1; i >= 0; i--) out[p++] = Math.floor(tag / 2 ** (8 * i)) & 0xff;
  if (len < 0x80) {
    out[p++] = len;
  } else {
    const n = lengthLength(len) - 1;
    out[p++] = 0x80 | n;
    for (let i = n - 1; i >= 0; i--) out[p++] = Math.floor(len / 2 ** (8 * i)) & 0xff;
  }
  return p;
}

/**
 * One TLV. `tag` is the complete identifier octet(s) as a number (0x30, 0xa0, 0x86, …);
 * the length is definite, long form when ≥ 128.
 */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  return tlvList(tag, content);
}

/** Identifier and length octets alone, for content written elsewhere (streamed, chunked). */
export function tlvHeader(tag: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(tagLength(tag) + lengthLength(len));
  writeHeader(out, tag, len);
  return out;
}

/** Like `tlv` but takes the content parts as an array (use for very many parts: no spread). */
export function tlvList(tag: number, content: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (let i = 0; i < content.length; i++) len += content[i].length;
  const out = Buffer.allocUnsafe(tagLength(tag) + lengthLength(len) + len);
  let p = writeHeader(out, tag, len);
  for (let i = 0; i < content.length; i++) {
    out.set(content[i], p);
    p += content[i].length;
  }
  return out;
}

export function seq(...content: Uint8Array[]): Buffer {
  return tlvList(Tag.SEQUENCE, content);
}

function compareDer(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** SET / SET OF. Elements are sorted by their encodings as DER requires of SET OF. */
export function set(...content: Uint8Array[]): Buffer {
  if (content.length > 1) content = [...content].sort(compareDer);
  return tlvList(Tag.SET, content);
}

/** INTEGER from big-endian unsigned magnitude bytes (adds 0x00 when the high bit is set). */
export function integerFromBytes(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && (b[i + 1] & 0x80) === 0) i++;
  if (b.length === 0) return Buffer.from([Tag.INTEGER, 1, 0]);
  const body = b.subarray(i);
  if (body[0] & 0x80) return tlv(Tag.INTEGER, ZERO, body);
  return tlv(Tag.INTEGER, body);
}

const ZERO = Buffer.from([0]);

/** Minimal two's-complement content octets of an integer. */
export function integerContent(n: number | bigint): Buffer {
  let v: bigint;
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n)) throw new RangeError(`DER INTEGER: not a safe integer: ${n}`);
    if (n >= 0 && n < 0x80) return Buffer.from([n]);
    v = BigInt(n);
  } else {
    v = n;
  }
  const bytes: number[] = [];
  if (v >= 0n) {
    do {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    } while (v > 0n);
    if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
  } else {
    do {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    } while (v < -1n);
    if ((bytes[bytes.length - 1] & 0x80) === 0) bytes.push(0xff);
  }
  return Buffer.from(bytes.reverse());
}

export function integer(n: number | bigint): Buffer {
  return tlv(Tag.INTEGER, integerContent(n));
}

export function enumerated(n: number): Buffer {
  return tlv(Tag.ENUMERATED, integerContent(n));
}

const oidCache = new Map<string, Buffer>();

/** Content octets of an OBJECT IDENTIFIER (shared with the cache: do not mutate). */
export function oidContent(dotted: string): Buffer {
  const full = oid(dotted);
  return full.subarray(readTlv(full).start);
}

/** OBJECT IDENTIFIER from dotted form. Encodings are cached; the returned Buffer is shared. */
export function oid(dotted: string): Buffer {
  const hit = oidCache.get(dotted);
  if (hit) return hit;
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(dotted)) throw new Error(`DER OID: malformed "${dotted}"`);
  const arcs = dotted.split('.').map((s) => BigInt(s));
  if (arcs[0] < 2n && arcs[1] >= 40n) throw new Error(`DER OID: second arc out of range in "${dotted}"`);
  const values = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const v of values) {
    const tmp: number[] = [Number(v & 0x7fn)];
    let r = v >> 7n;
    while (r > 0n) {
      tmp.push(Number(r & 0x7fn) | 0x80);
      r >>= 7n;
    }
    for (let i = tmp.length - 1; i >= 0; i--) bytes.push(tmp[i]);
  }
  const enc = tlv(Tag.OID, Buffer.from(bytes));
  if (oidCache.size < 10_000) oidCache.set(dotted, enc);
  return enc;
}

const NULL_DER = Buffer.from([Tag.NULL, 0]);
export function nullValue(): Buffer {
  return Buffer.from(NULL_DER);
}

export function boolean(v: boolean): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, v ? 0xff : 0x00]);
}

export function octetString(b: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, b);
}

export function bitString(b: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new RangeError(`DER BIT STRING: unusedBits must be 0..7, got ${unusedBits}`);
  }
  if (b.length === 0 && unusedBits !== 0) throw new RangeError('DER BIT STRING: empty string with unused bits');
  return tlv(Tag.BIT_STRING, Buffer.from([unusedBits]), b);
}

export function utf8String(s: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
export function isPrintable(s: string): boolean {
  return PRINTABLE.test(s);
}

export function printableString(s: string): Buffer {
  if (!PRINTABLE.test(s)) throw new Error(`DER PrintableString: invalid character in "${s}"`);
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
}

export function isIa5(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

export function ia5String(s: string): Buffer {
  if (!isIa5(s)) throw new Error(`DER IA5String: non-ASCII character in "${s}"`);
  return tlv(Tag.IA5_STRING, Buffer.from(s, 'latin1'));
}

function checkDate(d: Date): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError('DER time: invalid Date');
  return t;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function hhmmss(d: Date): string {
  return pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()) + pad2(d.getUTCHours()) + pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) + 'Z';
}

/** RFC 5280 Time: UTCTime for 1950–2049 (`YYMMDDHHMMSSZ`), else GeneralizedTime. Milliseconds dropped. */
export function time(d: Date): Buffer {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y >= 1950 && y <= 2049) {
    return tlv(Tag.UTC_TIME, Buffer.from(pad2(y % 100) + hhmmss(d), 'latin1'));
  }
  return generalizedTime(d);
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` (no fractional seconds, as RFC 5280 requires). */
export function generalizedTime(d: Date): Buffer {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`DER GeneralizedTime: year ${y} out of range`);
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + hhmmss(d), 'latin1'));
}

/** Context-specific constructed [tagNo] (EXPLICIT tagging, or an IMPLICIT constructed type). */
export function explicit(tagNo: number, ...content: Uint8Array[]): Buffer {
  return tlvList(contextTag(tagNo, true), content);
}

/** Context-specific primitive [tagNo] IMPLICIT over the given content octets. */
export function implicitPrimitive(tagNo: number, bytes: Uint8Array): Buffer {
  return tlv(contextTag(tagNo, false), bytes);
}

/** Context-specific constructed [tagNo] IMPLICIT over the given elements. */
export function implicitConstructed(tagNo: number, ...content: Uint8Array[]): Buffer {
  return tlvList(contextTag(tagNo, true), content);
}

function contextTag(tagNo: number, constructed: boolean): number {
  if (!Number.isInteger(tagNo) || tagNo < 0 || tagNo > 30) throw new RangeError(`DER: context tag ${tagNo} unsupported`);
  return 0x80 | (constructed ? 0x20 : 0) | tagNo;
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

export interface Tlv {
  /** Identifier octet(s) as a number (e.g. 0x30, 0xa0); multi-byte tags big-endian. */
  tag: number;
  headerLength: number;
  length: number;
  /** Offset of the first content octet. */
  start: number;
  /** Offset just past the last content octet (= end of the whole TLV). */
  end: number;
}

/**
 * Reads one TLV at `offset`. Strict DER: throws on truncation, indefinite length, non-minimal
 * (overlong) length encodings and lengths beyond 2^32.
 */
export function readTlv(buf: Uint8Array, offset = 0): Tlv {
  const n = buf.length;
  let p = offset;
  if (p >= n) throw new Error('DER: truncated (expected a tag)');
  let tag = buf[p++];
  if ((tag & 0x1f) === 0x1f) {
    let count = 0;
    let b: number;
    do {
      if (p >= n) throw new Error('DER: truncated high-tag-number');
      b = buf[p++];
      tag = tag * 256 + b;
      if (++count > 3) throw new Error('DER: tag number too large');
    } while (b & 0x80);
  }
  if (p >= n) throw new Error('DER: truncated (expected a length)');
  const first = buf[p++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new Error('DER: indefinite length is not allowed');
  } else {
    const k = first & 0x7f;
    if (k > 4) throw new Error('DER: length too large');
    if (p + k > n) throw new Error('DER: truncated length');
    if (buf[p] === 0) throw new Error('DER: non-minimal length encoding');
    length = 0;
    for (let i = 0; i < k; i++) length = length * 256 + buf[p++];
    if (length < 0x80) throw new Error('DER: non-minimal length encoding');
  }
  const start = p;
  const end = start + length;
  if (end > n) throw new Error(`DER: truncated (need ${length} content bytes, have ${n - start})`);
  return { tag, headerLength: start - offset, length, start, end };
}

/** Iterates the TLVs in buf[start, end) (the content of a constructed value). */
export function* children(buf: Uint8Array, start: number, end: number): Generator<Tlv> {
  let p = start;
  while (p < end) {
    const t = readTlv(buf, p);
    if (t.end > end) throw new Error('DER: element overruns its container');
    yield t;
    p = t.end;
  }
}

/** All children of a constructed TLV as an array. */
export function childList(buf: Uint8Array, parent: Tlv): Tlv[] {
  return [...children(buf, parent.start, parent.end)];
}

/** Reads one TLV and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, offset);
  if (t.tag !== tag) {
    throw new Error(`DER: expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${t.tag.toString(16)}`);
  }
  return t;
}

/** The whole encoding (header + content) of a TLV. */
export function tlvBytes(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start - t.headerLength, t.end);
}

/**
 * Dotted string of OID content octets. Arcs are counted in plain numbers and switch to BigInt only
 * past 2^45 (rare): OIDs are decoded for every extension of every certificate and CSR.
 */
export function decodeOid(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) throw new Error('DER: empty OID');
  let out = '';
  let v = 0n;
  let small = 0;
  let big = false;
  let first = true;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (small === 0 && !big && b === 0x80) throw new Error('DER: non-minimal OID arc');
    if (!big && small >= 2 ** 45) {
      big = true;
      v = BigInt(small);
    }
    if (big) v = (v << 7n) | BigInt(b & 0x7f);
    else small = small * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (first) {
        if (big) out = v < 80n ? (v < 40n ? `0.${v}` : `1.${v - 40n}`) : `2.${v - 80n}`;
        else out = small < 80 ? (small < 40 ? `0.${small}` : `1.${small - 40}`) : `2.${small - 80}`;
        first = false;
      } else {
        out += '.' + (big ? v.toString() : String(small));
      }
      v = 0n;
      small = 0;
      big = false;
    } else if (i === end - 1) {
      throw new Error('DER: truncated OID');
    }
  }
  return out;
}

/** Reads an OID TLV at offset. */
export function readOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== Tag.OID) throw new Error(`DER: expected OBJECT IDENTIFIER, found tag 0x${t.tag.toString(16)}`);
  return decodeOid(buf, t.start, t.end);
}

/** Signed INTEGER content → bigint. */
export function decodeInteger(buf: Uint8Array, start: number, end: number): bigint {
  if (end <= start) throw new Error('DER: empty INTEGER');
  let v = 0n;
  for (let i = start; i < end; i++) v = (v << 8n) | BigInt(buf[i]);
  if (buf[start] & 0x80) v -= 1n << BigInt(8 * (end - start));
  return v;
}

function digits(buf: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[p + i] - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * UTCTime / GeneralizedTime TLV → Date. Accepts the RFC 5280 forms (`YYMMDDHHMMSSZ`,
 * `YYYYMMDDHHMMSSZ`), plus UTCTime without seconds and GeneralizedTime fractional seconds.
 */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const p = t.start;
  const n = t.length;
  let year: number;
  let q: number;
  if (t.tag === Tag.UTC_TIME) {
    if (n !== 13 && n !== 11) return badTime(buf, t);
    const yy = digits(buf, p, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    q = p + 2;
  } else if (t.tag === Tag.GENERALIZED_TIME) {
    if (n < 15) return badTime(buf, t);
    year = digits(buf, p, 4);
    q = p + 4;
  } else {
    throw new Error(`DER: expected a time, found tag 0x${t.tag.toString(16)}`);
  }
  const month = digits(buf, q, 2);
  const day = digits(buf, q + 2, 2);
  const hour = digits(buf, q + 4, 2);
  const minute = digits(buf, q + 6, 2);
  let second = 0;
  let ms = 0;
  let r = q + 8;
  if (!(t.tag === Tag.UTC_TIME && n === 11)) {
    second = digits(buf, r, 2);
    r += 2;
  }
  if (t.tag === Tag.GENERALIZED_TIME && buf[r] === 0x2e /* . */) {
    let frac = 0;
    let scale = 1;
    r++;
    const fs = r;
    while (r < t.end - 1 && scale < 1e9) {
      const c = buf[r] - 0x30;
      if (c < 0 || c > 9) return badTime(buf, t);
      frac = frac * 10 + c;
      scale *= 10;
      r++;
    }
    if (r === fs) return badTime(buf, t);
    ms = Math.floor((frac / scale) * 1000);
  }
  if (r !== t.end - 1 || buf[r] !== 0x5a /* Z */) return badTime(buf, t);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59) {
    return badTime(buf, t);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  if (d.getUTCDate() !== day) return badTime(buf, t);
  return d;
}

function badTime(buf: Uint8Array, t: Tlv): never {
  const s = Buffer.from(buf.buffer, buf.byteOffset + t.start, t.length).toString('latin1');
  throw new Error(`DER: malformed ${t.tag === Tag.UTC_TIME ? 'UTCTime' : 'GeneralizedTime'} "${s}"`);
}

/** X.509 v2 CRLs (RFC 5280 §5): fast TBSCertList building and a parser. */
import { ext } from './oids.ts';
import {
  Tag,
  bitString,
  children,
  decodeInteger,
  decodeTime,
  expectTlv,
  explicit,
  readTlv,
  seq,
  time,
  tlvBytes,
  tlvHeader,
  tlvList,
  type Tlv,
} from './der.ts';
import { crlReason, invalidityDate as invalidityDateExt } from './extensions.ts';
import { parseExtensions } from './certificate.ts';

const VERSION_V2 = Buffer.from([Tag.INTEGER, 1, 1]);

export interface CrlEntryInput {
  /** Raw positive serial bytes, or hex (as serialHex()/parseCertificate report it). */
  serial: Uint8Array | string;
  revocationDate: Date;
  /** RFC 5280 CRLReason code; 0 (unspecified) is omitted as §5.3.1 recommends. */
  reason?: number;
  invalidityDate?: Date;
}

export interface TbsCertListInput {
  signatureAlgorithm: Uint8Array;
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: Iterable<CrlEntryInput>;
  /** DER Extension elements: crlNumber, authorityKeyIdentifier, deltaCrlIndicator, IDP, … */
  extensions: Uint8Array[];
}

function serialBytes(s: Uint8Array | string): Uint8Array {
  if (typeof s !== 'string') return s;
  if (!/^[0-9a-fA-F]+$/.test(s)) throw new Error(`CRL entry: serial is not hex: "${s}"`);
  return Buffer.from(s.length % 2 ? '0' + s : s, 'hex');
}

/** Appends DER bytes into 64 KiB chunks: no per-entry Buffer allocations. */
class ChunkWriter {
  chunks: Buffer[] = [];
  buf = Buffer.allocUnsafe(65536);
  pos = 0;
  total = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    this.buf = Buffer.allocUnsafe(Math.max(65536, n));
  }

  flush(): void {
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    this.total += this.pos;
    this.pos = 0;
  }

  header(tag: number, len: number): void {
    const b = this.buf;
    b[this.pos++] = tag;
    if (len < 0x80) b[this.pos++] = len;
    else if (len <= 0xff) {
      b[this.pos++] = 0x81;
      b[this.pos++] = len;
    } else if (len <= 0xffff) {
      b[this.pos++] = 0x82;
      b[this.pos++] = len >> 8;
      b[this.pos++] = len & 0xff;
    } else {
      b[this.pos++] = 0x83;
      b[this.pos++] = (len >> 16) & 0xff;
      b[this.pos++] = (len >> 8) & 0xff;
      b[this.pos++] = len & 0xff;
    }
  }

  bytes(src: Uint8Array): void {
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Two ASCII digits. */
  d2(n: number): void {
    this.buf[this.pos++] = 0x30 + ((n / 10) | 0);
    this.buf[this.pos++] = 0x30 + (n % 10);
  }

  /** RFC 5280 Time TLV (UTCTime 1950–2049, else GeneralizedTime), without building strings. */
  time(d: Date): void {
    const y = d.getUTCFullYear();
    if (!Number.isFinite(y)) throw new RangeError('CRL entry: invalid revocationDate');
    if (y >= 1950 && y <= 2049) {
      this.buf[this.pos++] = Tag.UTC_TIME;
      this.buf[this.pos++] = 13;
      this.d2(y % 100);
    } else {
      if (y < 0 || y > 9999) throw new RangeError(`CRL entry: year ${y} out of range`);
      this.buf[this.pos++] = Tag.GENERALIZED_TIME;
      this.buf[this.pos++] = 15;
      this.d2((y / 100) | 0);
      this.d2(y % 100);
    }
    this.d2(d.getUTCMonth() + 1);
    this.d2(d.getUTCDate());
    this.d2(d.getUTCHours());
    this.d2(d.getUTCMinutes());
    this.d2(d.getUTCSeconds());
    this.buf[this.pos++] = 0x5a; // 'Z'
  }

  result(): Buffer[] {
    this.flush();
    return this.chunks;
  }
}

function lenOfLen(len: number): number {
  return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 4;
}

/** Writes one revokedCertificates entry. */
function writeEntry(w: ChunkWriter, e: CrlEntryInput): void {
  // serial: strip redundant leading zeros, pad 00 when the high bit is set
  const raw = serialBytes(e.serial);
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0 && (raw[i + 1] & 0x80) === 0) i++;
  const serial = raw.length === 0 ? ZERO : raw.subarray(i);
  const pad = serial[0] & 0x80 ? 1 : 0;
  const serialLen = serial.length + pad;
  const y = e.revocationDate.getUTCFullYear();
  const timeLen = y >= 1950 && y <= 2049 ? 15 : 17;
  const reason = e.reason !== undefined && e.reason !== 0 ? crlReason(e.reason) : undefined;
  const inv = e.invalidityDate ? invalidityDateExt(e.invalidityDate) : undefined;
  const extsLen = (reason ? reason.length : 0) + (inv ? inv.length : 0);
  const extsTlvLen = reason || inv ? 1 + lenOfLen(extsLen) + extsLen : 0;
  const bodyLen = 1 + lenOfLen(serialLen) + serialLen + timeLen + extsTlvLen;
  w.reserve(1 + lenOfLen(bodyLen) + bodyLen);
  w.header(Tag.SEQUENCE, bodyLen);
  w.header(Tag.INTEGER, serialLen);
  if (pad) w.buf[w.pos++] = 0;
  w.bytes(serial);
  w.time(e.revocationDate);
  if (extsTlvLen) {
    w.header(Tag.SEQUENCE, extsLen);
    if (reason) w.bytes(reason);
    if (inv) w.bytes(inv);
  }
}

const ZERO = Buffer.from([0]);

/**
 * Encodes revokedCertificates entries as they arrive (a page of database rows at a time), so a
 * large CRL never holds all its rows as objects at once. Pass it as `entries`.
 */
export class CrlEntryEncoder implements Iterable<CrlEntryInput> {
  private readonly w = new ChunkWriter();
  count = 0;

  add(e: CrlEntryInput): void {
    writeEntry(this.w, e);
    this.count++;
  }

  result(): Buffer[] {
    return this.w.result();
  }

  /** Only so the type fits `entries`; the encoded bytes are read through result(). */
  *[Symbol.iterator](): Iterator<CrlEntryInput> {}
}

/** A TBSCertList as byte parts in order (header, fields, entry chunks, extensions) and their total length. */
export interface TbsParts {
  parts: Uint8Array[];
  length: number;
}

/**
 * DER TBSCertList, version 2, as parts: the entries' 64 KiB chunks are not copied, so a
 * million-entry list (~50 MB) can be hashed and signed part by part and copied once, into the
 * signed CRL. revokedCertificates is omitted when there are no entries.
 */
export function tbsCertListParts(i: TbsCertListInput): TbsParts {
  let chunks: Buffer[];
  let count: number;
  if (i.entries instanceof CrlEntryEncoder) {
    chunks = i.entries.result();
    count = i.entries.count;
  } else {
    const enc = new CrlEntryEncoder();
    for (const e of i.entries) enc.add(e);
    chunks = enc.result();
    count = enc.count;
  }
  const fields: Uint8Array[] = [VERSION_V2, i.signatureAlgorithm, i.issuer, time(i.thisUpdate), time(i.nextUpdate)];
  const body: Uint8Array[] = [...fields];
  if (count > 0) {
    let entriesLen = 0;
    for (const c of chunks) entriesLen += c.length;
    body.push(tlvHeader(Tag.SEQUENCE, entriesLen));
    for (const c of chunks) body.push(c);
  }
  if (i.extensions.length > 0) body.push(explicit(0, seq(...i.extensions)));
  let len = 0;
  for (const b of body) len += b.length;
  const head = tlvHeader(Tag.SEQUENCE, len);
  return { parts: [head, ...body], length: head.length + len };
}

/** DER TBSCertList, version 2, in one buffer (see tbsCertListParts). */
export function buildTbsCertList(i: TbsCertListInput): Buffer {
  return Buffer.concat(tbsCertListParts(i).parts);
}

/**
 * The signed CertificateList as parts (header, the TBS parts, algorithm, signature): the entries'
 * chunks are neither copied nor concatenated, so a million-entry CRL exists once in memory.
 */
export function signedCrlParts(tbs: TbsParts, signatureAlgorithm: Uint8Array, signature: Uint8Array): TbsParts {
  const bits = bitString(signature);
  const inner = tbs.length + signatureAlgorithm.length + bits.length;
  const head = tlvHeader(Tag.SEQUENCE, inner);
  return { parts: [head, ...tbs.parts, signatureAlgorithm, bits], length: head.length + inner };
}

export interface ParsedCrlEntry {
  serialHex: string;
  revocationDate: Date;
  reason?: number;
  invalidityDate?: Date;
}

export interface ParsedCrl {
  /** cRLNumber, when present. */
  number?: bigint;
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: ParsedCrlEntry[];
  isDelta: boolean;
  /** deltaCRLIndicator's base CRL number (delta CRLs only). */
  baseNumber?: bigint;
  tbs: Uint8Array;
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
}

function readIntegerExt(value: Uint8Array, what: string): bigint {
  const t = expectTlv(value, 0, Tag.INTEGER, what);
  return decodeInteger(value, t.start, t.end);
}

/**
 * Parses a DER CertificateList. Throws on malformed input, and on a CRL without nextUpdate
 * (RFC 5280 §5.1.2.5 requires conforming issuers to include it).
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  const list = expectTlv(der, 0, Tag.SEQUENCE, 'CertificateList');
  if (list.end !== der.length) throw new Error('CRL: trailing data');
  const tbsT = expectTlv(der, list.start, Tag.SEQUENCE, 'TBSCertList');
  const algT = expectTlv(der, tbsT.end, Tag.SEQUENCE, 'signatureAlgorithm');
  const sigT = expectTlv(der, algT.end, Tag.BIT_STRING, 'signatureValue');
  if (sigT.end !== list.end || sigT.length < 1) throw new Error('CRL: malformed signature');

  let p = tbsT.start;
  let t = readTlv(der, p);
  if (t.tag === Tag.INTEGER) t = readTlv(der, t.end); // version
  if (t.tag !== Tag.SEQUENCE) throw new Error('CRL: expected signature AlgorithmIdentifier');
  const issuerT = expectTlv(der, t.end, Tag.SEQUENCE, 'issuer');
  const thisT = readTlv(der, issuerT.end);
  const thisUpdate = decodeTime(der, thisT);
  p = thisT.end;
  let nextUpdate: Date | undefined;
  const entries: ParsedCrlEntry[] = [];
  let extensions: ParsedCrl['extensions'] = [];
  while (p < tbsT.end) {
    const x: Tlv = readTlv(der, p);
    if (x.end > tbsT.end) throw new Error('CRL: element overruns TBSCertList');
    if (x.tag === Tag.UTC_TIME || x.tag === Tag.GENERALIZED_TIME) {
      nextUpdate = decodeTime(der, x);
    } else if (x.tag === Tag.SEQUENCE) {
      for (const r of children(der, x.start, x.end)) entries.push(parseEntry(der, r));
    } else if (x.tag === 0xa0) {
      extensions = parseExtensions(der, expectTlv(der, x.start, Tag.SEQUENCE, 'crlExtensions'));
    } else {
      throw new Error(`CRL: unexpected element 0x${x.tag.toString(16)}`);
    }
    p = x.end;
  }
  if (!nextUpdate) throw new Error('CRL: nextUpdate is missing');
  const out: ParsedCrl = {
    issuer: tlvBytes(der, issuerT),
    thisUpdate,
    nextUpdate,
    entries,
    isDelta: false,
    tbs: tlvBytes(der, tbsT),
    signatureAlgorithm: tlvBytes(der, algT),
    signature: der.subarray(sigT.start + 1, sigT.end),
    extensions,
  };
  for (const e of extensions) {
    if (e.oid === ext.crlNumber) out.number = readIntegerExt(e.value, 'cRLNumber');
    else if (e.oid === ext.deltaCrlIndicator) {
      out.isDelta = true;
      out.baseNumber = readIntegerExt(e.value, 'deltaCRLIndicator');
    }
  }
  return out;
}

/**
 * Calls `fn` for each revokedCertificates entry with its serial's DER INTEGER content octets (a
 * view) and its reason code (0 when absent), building no entry objects: for bases of a million
 * entries. The CRL is walked, not verified; malformed input throws as in parseCrl.
 */
export function forEachCrlEntry(der: Uint8Array, fn: (serial: Uint8Array, reason: number) => void): void {
  const list = expectTlv(der, 0, Tag.SEQUENCE, 'CertificateList');
  const tbsT = expectTlv(der, list.start, Tag.SEQUENCE, 'TBSCertList');
  let p = tbsT.start;
  while (p < tbsT.end) {
    const x = readTlv(der, p);
    if (x.tag === Tag.SEQUENCE && x.end <= tbsT.end && isEntryList(der, x)) {
      for (const r of children(der, x.start, x.end)) {
        const sn = expectTlv(der, r.start, Tag.INTEGER, 'userCertificate');
        fn(der.subarray(sn.start, sn.end), entryReason(der, r, sn));
      }
    }
    p = x.end;
  }
}

/** The revokedCertificates list, not the signature AlgorithmIdentifier or the issuer Name. */
function isEntryList(der: Uint8Array, x: Tlv): boolean {
  if (x.start === x.end) return false;
  const first = readTlv(der, x.start);
  return first.tag === Tag.SEQUENCE && readTlv(der, first.start).tag === Tag.INTEGER;
}

function entryReason(der: Uint8Array, r: Tlv, sn: Tlv): number {
  const dt = readTlv(der, sn.end);
  if (dt.end >= r.end) return 0;
  const exts = expectTlv(der, dt.end, Tag.SEQUENCE, 'crlEntryExtensions');
  for (const x of parseExtensions(der, exts)) {
    if (x.oid === ext.crlReason) {
      const en = expectTlv(x.value, 0, Tag.ENUMERATED, 'CRLReason');
      return Number(decodeInteger(x.value, en.start, en.end));
    }
  }
  return 0;
}

function parseEntry(der: Uint8Array, r: Tlv): ParsedCrlEntry {
  if (r.tag !== Tag.SEQUENCE) throw new Error('CRL: revoked entry is not a SEQUENCE');
  const sn = expectTlv(der, r.start, Tag.INTEGER, 'userCertificate');
  const dt = readTlv(der, sn.end);
  const e: ParsedCrlEntry = {
    serialHex: Buffer.from(der.subarray(sn.start, sn.end)).toString('hex'),
    revocationDate: decodeTime(der, dt),
  };
  if (dt.end < r.end) {
    const exts = expectTlv(der, dt.end, Tag.SEQUENCE, 'crlEntryExtensions');
    if (exts.end !== r.end) throw new Error('CRL: malformed revoked entry');
    for (const x of parseExtensions(der, exts)) {
      if (x.oid === ext.crlReason) {
        const en = expectTlv(x.value, 0, Tag.ENUMERATED, 'CRLReason');
        e.reason = Number(decodeInteger(x.value, en.start, en.end));
      } else if (x.oid === ext.invalidityDate) {
        e.invalidityDate = decodeTime(x.value, readTlv(x.value, 0));
      }
    }
  } else if (dt.end !== r.end) {
    throw new Error('CRL: malformed revoked entry');
  }
  return e;
}

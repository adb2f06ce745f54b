/**
 * X.509 v3 certificate and CRL extensions, each built as one DER `Extension`:
 *   SEQUENCE { extnID OID, critical BOOLEAN (only when TRUE), extnValue OCTET STRING }.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { Identifier } from '../issuance/request.ts';
import { accessMethod, ext } from './oids.ts';
import {
  Tag,
  bitString,
  boolean,
  children,
  enumerated,
  expectTlv,
  explicit,
  generalizedTime,
  implicitConstructed,
  implicitPrimitive,
  integer,
  isIa5,
  nullValue,
  octetString,
  oid,
  readOid,
  readTlv,
  seq,
} from './der.ts';

const TRUE = boolean(true);

/** A generic Extension from an already-encoded extnValue. */
export function extension(extnId: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(extnId), TRUE, octetString(value)) : seq(oid(extnId), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  const body: Buffer[] = [];
  if (ca) body.push(TRUE);
  if (pathLength !== undefined) {
    if (!ca) throw new Error('basicConstraints: pathLength requires ca=true');
    if (!Number.isInteger(pathLength) || pathLength < 0) throw new Error(`basicConstraints: bad pathLength ${pathLength}`);
    body.push(integer(pathLength));
  }
  return extension(ext.basicConstraints, true, seq(...body));
}

export const keyUsageBits: Record<string, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

/** KeyUsage (critical) as a DER named bit string: trailing zero bits removed. */
export function keyUsage(names: string[]): Buffer {
  let mask = 0;
  for (const n of names) {
    const bit = keyUsageBits[n];
    if (bit === undefined) throw new Error(`keyUsage: unknown usage "${n}"`);
    mask |= 1 << bit;
  }
  if (mask === 0) throw new Error('keyUsage: at least one usage is required');
  const highest = 31 - Math.clz32(mask); // highest set bit number
  const nbytes = (highest >> 3) + 1;
  const bytes = Buffer.alloc(nbytes);
  for (let bit = 0; bit <= highest; bit++) {
    if (mask & (1 << bit)) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  }
  const unused = nbytes * 8 - (highest + 1);
  return extension(ext.keyUsage, true, bitString(bytes, unused));
}

/** KeyUsage extnValue (a named BIT STRING) → the usage names asserted (contentCommitment as nonRepudiation). */
export function decodeKeyUsage(value: Uint8Array): string[] {
  const b = expectTlv(value, 0, Tag.BIT_STRING, 'KeyUsage');
  if (b.end !== value.length || b.length < 1) throw new Error('KeyUsage: malformed BIT STRING');
  const out: string[] = [];
  for (const [name, bit] of Object.entries(keyUsageBits)) {
    if (name === 'contentCommitment') continue;
    const byte = b.start + 1 + (bit >> 3);
    if (byte < b.end && value[byte] & (0x80 >> (bit & 7))) out.push(name);
  }
  return out;
}

export function extKeyUsage(oids: string[]): Buffer {
  if (oids.length === 0) throw new Error('extKeyUsage: at least one purpose is required');
  return extension(ext.extKeyUsage, false, seq(...oids.map((o) => oid(o))));
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId → dotted OIDs. */
export function decodeExtKeyUsage(value: Uint8Array): string[] {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'ExtKeyUsageSyntax');
  if (s.end !== value.length) throw new Error('ExtKeyUsageSyntax: trailing data');
  return [...children(value, s.start, s.end)].map((t) => readOid(value, t));
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }. */
export function decodeBasicConstraints(value: Uint8Array): { ca: boolean; pathLength?: number } {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'BasicConstraints');
  if (s.end !== value.length) throw new Error('BasicConstraints: trailing data');
  let ca = false;
  let pathLength: number | undefined;
  for (const t of children(value, s.start, s.end)) {
    if (t.tag === Tag.BOOLEAN) ca = t.length === 1 && value[t.start] !== 0;
    else if (t.tag === Tag.INTEGER) pathLength = value.subarray(t.start, t.end).reduce((n, b) => n * 256 + b, 0);
    else throw new Error('BasicConstraints: unexpected element');
  }
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

export function subjectKeyIdentifier(keyId: Uint8Array): Buffer {
  return extension(ext.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Uint8Array): Buffer {
  return extension(ext.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId)));
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL, … } → keyIdentifier. */
export function decodeAuthorityKeyIdentifier(value: Uint8Array): Uint8Array | undefined {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'AuthorityKeyIdentifier');
  if (s.end !== value.length) throw new Error('AuthorityKeyIdentifier: trailing data');
  for (const t of children(value, s.start, s.end)) if (t.tag === 0x80) return value.subarray(t.start, t.end);
  return undefined;
}

/** SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING). */
export function decodeSubjectKeyIdentifier(value: Uint8Array): Uint8Array {
  const o = expectTlv(value, 0, Tag.OCTET_STRING, 'SubjectKeyIdentifier');
  if (o.end !== value.length) throw new Error('SubjectKeyIdentifier: trailing data');
  return value.subarray(o.start, o.end);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (without unused-bits octet). */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = expectTlv(spkiDer, 0, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  const algo = expectTlv(spkiDer, spki.start, Tag.SEQUENCE, 'AlgorithmIdentifier');
  const key = expectTlv(spkiDer, algo.end, Tag.BIT_STRING, 'subjectPublicKey');
  if (key.length < 1) throw new Error('SubjectPublicKeyInfo: empty subjectPublicKey');
  return createHash('sha1').update(spkiDer.subarray(key.start + 1, key.end)).digest();
}

// ---------------------------------------------------------------------------------------------
// IP addresses
// ---------------------------------------------------------------------------------------------

/** IPv4 → 4 bytes, IPv6 (incl. `::` compression and embedded IPv4) → 16 bytes. Throws if invalid. */
export function ipToBytes(s: string): Buffer {
  const v = s.includes('%') ? 0 : isIP(s);
  if (v === 4) return Buffer.from(s.split('.').map(Number));
  if (v !== 6) throw new Error(`not an IP address: "${s}"`);
  let str = s;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4 in the last 32 bits (IPv4-mapped / -compatible / NAT64).
    const v4 = s.slice(lastColon + 1).split('.').map(Number);
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    str = s.slice(0, lastColon + 1);
    if (!str.endsWith('::')) str = str.slice(0, -1);
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const dbl = str.indexOf('::');
  if (dbl >= 0) {
    const left = parse(str.slice(0, dbl));
    const right = parse(str.slice(dbl + 2));
    const fill = 8 - tail.length - left.length - right.length;
    if (fill < 0) throw new Error(`not an IP address: "${s}"`);
    groups = [...left, ...new Array<number>(fill).fill(0), ...right, ...tail];
  } else {
    groups = [...parse(str), ...tail];
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`not an IP address: "${s}"`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** 4 or 16 bytes → canonical text (RFC 5952 for IPv6; `::ffff:a.b.c.d` for IPv4-mapped). */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new Error(`iPAddress must be 4 or 16 bytes, got ${b.length}`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // Longest run (≥ 2) of zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

// ---------------------------------------------------------------------------------------------
// GeneralNames
// ---------------------------------------------------------------------------------------------

function dnsToAscii(name: string): string {
  if (/^[\x21-\x7e]*$/.test(name)) return name;
  const wildcard = name.startsWith('*.');
  const a = domainToASCII(wildcard ? name.slice(2) : name);
  if (!a) throw new Error(`dNSName: invalid internationalised name "${name}"`);
  return wildcard ? '*.' + a : a;
}

/** One GeneralName for an identifier: dns [2], ip [7], email [1], uri [6]. */
export function generalName(id: Identifier): Buffer {
  switch (id.type) {
    case 'dns':
      return implicitPrimitive(2, ia5Bytes(dnsToAscii(id.value), 'dNSName'));
    case 'ip':
      return implicitPrimitive(7, ipToBytes(id.value));
    case 'email':
      return implicitPrimitive(1, ia5Bytes(id.value, 'rfc822Name'));
    case 'uri':
      return implicitPrimitive(6, ia5Bytes(id.value, 'uniformResourceIdentifier'));
    default:
      throw new Error(`GeneralName: unsupported identifier type "${(id as Identifier).type}"`);
  }
}

function ia5Bytes(s: string, what: string): Buffer {
  if (!isIa5(s)) throw new Error(`${what}: non-ASCII characters in "${s}"`);
  return Buffer.from(s, 'latin1');
}

export function subjectAltName(ids: Identifier[], critical = false): Buffer {
  if (ids.length === 0) throw new Error('subjectAltName: at least one name is required');
  return extension(ext.subjectAltName, critical, seq(...ids.map(generalName)));
}

/**
 * GeneralNames (a DER SEQUENCE, e.g. a SAN extnValue) → identifiers. Only dNSName, iPAddress,
 * rfc822Name and URI are returned; other name forms (otherName, directoryName, …) are skipped.
 */
export function decodeGeneralNames(der: Uint8Array): Identifier[] {
  const s = expectTlv(der, 0, Tag.SEQUENCE, 'GeneralNames');
  if (s.end !== der.length) throw new Error('GeneralNames: trailing data');
  const out: Identifier[] = [];
  const text = (t: { start: number; end: number }) => Buffer.from(der.subarray(t.start, t.end)).toString('latin1');
  for (const t of children(der, s.start, s.end)) {
    switch (t.tag) {
      case 0x82:
        out.push({ type: 'dns', value: text(t) });
        break;
      case 0x87:
        out.push({ type: 'ip', value: ipFromBytes(der.subarray(t.start, t.end)) });
        break;
      case 0x81:
        out.push({ type: 'email', value: text(t) });
        break;
      case 0x86:
        out.push({ type: 'uri', value: text(t) });
        break;
      default:
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Distribution points, AIA, policies
// ---------------------------------------------------------------------------------------------

function uriName(url: string): Buffer {
  return implicitPrimitive(6, ia5Bytes(url, 'URI'));
}

/** DistributionPointName fullName [0] { URIs } wrapped in distributionPoint [0]. */
function distributionPointName(urls: string[]): Buffer {
  return explicit(0, implicitConstructed(0, ...urls.map(uriName)));
}

function distributionPoints(extnId: string, urls: string[]): Buffer {
  if (urls.length === 0) throw new Error('distribution points: at least one URL is required');
  return extension(extnId, false, seq(seq(distributionPointName(urls))));
}

/** CRLDistributionPoints with one DistributionPoint whose fullName lists every URL. */
export function crlDistributionPoints(urls: string[]): Buffer {
  return distributionPoints(ext.crlDistributionPoints, urls);
}

/** FreshestCRL (delta CRL locations), same syntax as CRLDistributionPoints. */
export function freshestCrl(urls: string[]): Buffer {
  return distributionPoints(ext.freshestCrl, urls);
}

/**
 * CRLDistributionPoints / FreshestCRL extnValue → the fullName URIs of every DistributionPoint:
 *   CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
 *   DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, reasons [1], cRLIssuer [2] }
 *   DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] }
 * Name forms other than a URI are counted in `other` so a caller can refuse them.
 */
export function decodeDistributionPoints(value: Uint8Array): { uris: string[]; other: number } {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'CRLDistributionPoints');
  if (s.end !== value.length) throw new Error('CRLDistributionPoints: trailing data');
  const uris: string[] = [];
  let other = 0;
  for (const dp of children(value, s.start, s.end)) {
    if (dp.tag !== Tag.SEQUENCE) throw new Error('DistributionPoint is not a SEQUENCE');
    for (const f of children(value, dp.start, dp.end)) {
      if (f.tag !== 0xa0) continue;
      const name = readTlv(value, f.start);
      if (name.tag !== 0xa0) {
        other++;
        continue;
      }
      for (const g of children(value, name.start, name.end)) {
        if (g.tag === 0x86) uris.push(Buffer.from(value.subarray(g.start, g.end)).toString('latin1'));
        else other++;
      }
    }
  }
  return { uris, other };
}

/**
 * AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription
 *   AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
 * → method OID and URI (undefined when the location is not a URI).
 */
export function decodeAuthorityInfoAccess(value: Uint8Array): { method: string; uri?: string }[] {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'AuthorityInfoAccessSyntax');
  if (s.end !== value.length) throw new Error('AuthorityInfoAccessSyntax: trailing data');
  const out: { method: string; uri?: string }[] = [];
  for (const ad of children(value, s.start, s.end)) {
    if (ad.tag !== Tag.SEQUENCE) throw new Error('AccessDescription is not a SEQUENCE');
    const m = expectTlv(value, ad.start, Tag.OID, 'accessMethod');
    const loc = readTlv(value, m.end);
    out.push({
      method: readOid(value, m),
      uri: loc.tag === 0x86 ? Buffer.from(value.subarray(loc.start, loc.end)).toString('latin1') : undefined,
    });
  }
  return out;
}

export function authorityInfoAccess(a: { ocsp?: string[]; caIssuers?: string[] }): Buffer {
  const items: Buffer[] = [];
  for (const u of a.ocsp ?? []) items.push(seq(oid(accessMethod.ocsp), uriName(u)));
  for (const u of a.caIssuers ?? []) items.push(seq(oid(accessMethod.caIssuers), uriName(u)));
  if (items.length === 0) throw new Error('authorityInfoAccess: at least one location is required');
  return extension(ext.authorityInfoAccess, false, seq(...items));
}

export function certificatePolicies(oids: string[]): Buffer {
  if (oids.length === 0) throw new Error('certificatePolicies: at least one policy is required');
  return extension(ext.certificatePolicies, false, seq(...oids.map((o) => seq(oid(o)))));
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): extnValue is NULL. */
export function ocspNoCheck(): Buffer {
  return extension(ext.ocspNoCheck, false, nullValue());
}

// ---------------------------------------------------------------------------------------------
// CRL extensions and CRL entry extensions
// ---------------------------------------------------------------------------------------------

export function crlNumber(n: bigint | number): Buffer {
  if (BigInt(n) < 0n) throw new Error('cRLNumber must be non-negative');
  return extension(ext.crlNumber, false, integer(n));
}

export function deltaCrlIndicator(baseNumber: bigint | number): Buffer {
  if (BigInt(baseNumber) < 0n) throw new Error('deltaCRLIndicator must be non-negative');
  return extension(ext.deltaCrlIndicator, true, integer(baseNumber));
}

export function issuingDistributionPoint(i: { url?: string; onlyContainsUserCerts?: boolean }): Buffer {
  const body: Buffer[] = [];
  if (i.url !== undefined) body.push(distributionPointName([i.url]));
  if (i.onlyContainsUserCerts) body.push(implicitPrimitive(1, Buffer.from([0xff])));
  return extension(ext.issuingDistributionPoint, true, seq(...body));
}

/** Cached crlReason entry extensions (one per code). */
const reasonCache = new Map<number, Buffer>();
export function crlReason(code: number): Buffer {
  let e = reasonCache.get(code);
  if (!e) {
    if (!Number.isInteger(code) || code < 0 || code > 10 || code === 7) throw new Error(`crlReason: invalid code ${code}`);
    e = extension(ext.crlReason, false, enumerated(code));
    reasonCache.set(code, e);
  }
  return e;
}

export function invalidityDate(d: Date): Buffer {
  return extension(ext.invalidityDate, false, generalizedTime(d));
}

/**
 * CRL update retrieval (RFC 9810 §5.3.19.16-17, RFC 9483 §4.3.4): the values of id-it-crlStatusList
 * (genm) and id-it-crls (genp). The CMP module uses EXPLICIT tags, so both CRLSource arms wrap
 * their type; DistributionPointName's own [0]/[1] are IMPLICIT (RFC 5280's module).
 *
 *   CRLStatusListValue ::= SEQUENCE SIZE (1..MAX) OF CRLStatus
 *   CRLStatus ::= SEQUENCE { source CRLSource, thisUpdate Time OPTIONAL }
 *   CRLSource ::= CHOICE { dpn [0] DistributionPointName, issuer [1] GeneralNames }
 *   DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RDN }
 *   CRLsValue ::= SEQUENCE SIZE (1..MAX) OF CertificateList
 */
import { Tag, childList, decodeTime, explicit, ia5String, implicitConstructed, readTlv, seq, time, tlv, tlvBytes, type Tlv } from './der.ts';

/** The names of a CRLSource Certgate can match: URIs and directory names (Name DER). */
export interface CrlSourceNames {
  /** Which arm the client used. */
  kind: 'dpn' | 'issuer';
  uris: string[];
  directoryNames: Buffer[];
}

export interface CrlStatus {
  source: CrlSourceNames;
  /** The thisUpdate of the newest CRL the client has, if any. */
  thisUpdate?: Date;
}

const URI = 0x86;
const DIRECTORY_NAME = 0xa4;

export function decodeCrlStatusList(der: Uint8Array): CrlStatus[] {
  const top = readTlv(der);
  if (top.tag !== Tag.SEQUENCE || top.end !== der.length) throw new Error('CRLStatusListValue: not one SEQUENCE');
  const list = childList(der, top);
  if (list.length === 0) throw new Error('CRLStatusListValue: empty');
  return list.map((s) => decodeCrlStatus(der, s));
}

function decodeCrlStatus(buf: Uint8Array, t: Tlv): CrlStatus {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CRLStatus: not a SEQUENCE');
  const [src, when, ...rest] = childList(buf, t);
  if (!src || rest.length) throw new Error('CRLStatus: wrong number of fields');
  return { source: decodeCrlSource(buf, src), thisUpdate: when ? decodeTime(buf, when) : undefined };
}

function decodeCrlSource(buf: Uint8Array, t: Tlv): CrlSourceNames {
  const inner = childList(buf, t);
  if (inner.length !== 1) throw new Error('CRLSource: one value expected');
  if (t.tag === 0xa0) {
    const dpn = inner[0];
    // nameRelativeToCRLIssuer [1]: a name relative to an issuer the client does not give; nothing to match.
    if (dpn.tag === 0xa1) return { kind: 'dpn', uris: [], directoryNames: [] };
    if (dpn.tag !== 0xa0) throw new Error('DistributionPointName: unknown choice');
    return { kind: 'dpn', ...decodeGeneralNames(buf, dpn) };
  }
  if (t.tag === 0xa1) {
    if (inner[0].tag !== Tag.SEQUENCE) throw new Error('CRLSource issuer: GeneralNames expected');
    return { kind: 'issuer', ...decodeGeneralNames(buf, inner[0]) };
  }
  throw new Error('CRLSource: unknown choice');
}

/** The URIs and directory names of a GeneralNames; other name forms are skipped. */
function decodeGeneralNames(buf: Uint8Array, t: Tlv): { uris: string[]; directoryNames: Buffer[] } {
  const names = childList(buf, t);
  if (names.length === 0) throw new Error('GeneralNames: empty');
  const out = { uris: [] as string[], directoryNames: [] as Buffer[] };
  for (const n of names) {
    if (n.tag === URI) out.uris.push(Buffer.from(buf.subarray(n.start, n.end)).toString('latin1'));
    if (n.tag === DIRECTORY_NAME) {
      const [name] = childList(buf, n);
      if (!name || name.tag !== Tag.SEQUENCE) throw new Error('directoryName: Name expected');
      out.directoryNames.push(Buffer.from(tlvBytes(buf, name)));
    }
  }
  return out;
}

/** Encodes a CRLStatusListValue (what a client sends; used by tests and clients). */
export function encodeCrlStatusList(list: { uri?: string; issuerName?: Uint8Array; thisUpdate?: Date }[]): Buffer {
  return seq(
    ...list.map((s) => {
      const source = s.uri !== undefined ? explicit(0, implicitConstructed(0, uriName(s.uri))) : explicit(1, seq(explicit(4, s.issuerName ?? seq())));
      return s.thisUpdate ? seq(source, time(s.thisUpdate)) : seq(source);
    }),
  );
}

function uriName(uri: string): Buffer {
  const ia5 = ia5String(uri);
  return tlv(URI, ia5.subarray(readTlv(ia5).start));
}

/** CRLsValue: the CertificateLists, each as stored. */
export function encodeCrls(crls: Uint8Array[]): Buffer {
  if (crls.length === 0) throw new Error('CRLsValue: at least one CRL');
  return seq(...crls);
}

export function decodeCrls(der: Uint8Array): Buffer[] {
  const top = readTlv(der);
  if (top.tag !== Tag.SEQUENCE || top.end !== der.length) throw new Error('CRLsValue: not one SEQUENCE');
  return childList(der, top).map((c) => Buffer.from(tlvBytes(der, c)));
}

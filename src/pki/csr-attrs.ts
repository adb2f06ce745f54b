/**
 * CSR Attributes (RFC 7030 §4.5.2), the body of EST's /csrattrs (media type application/csrattrs,
 * also used by EST-coaps, RFC 9148 §5, content-format 285):
 *
 *   CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
 *   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
 *   Attribute { ATTRIBUTE:IOSet } ::= SEQUENCE {
 *        type   ATTRIBUTE.&id({IOSet}),
 *        values SET SIZE(1..MAX) OF ATTRIBUTE.&Type({IOSet}{@type}) }
 *
 * Attribute values are kept as DER; the usual RFC 7030 forms carry OIDs as values
 * (`{ ecPublicKey, { secp384r1 } }`, `{ extensionRequest, { macAddress } }`).
 */
import { Tag, childList, oid, readOid, readTlv, seq, set, tlvBytes } from './der.ts';

export type AttrOrOid = { oid: string } | { type: string; values: Uint8Array[] };

export function encodeCsrAttrs(items: AttrOrOid[]): Buffer {
  return seq(...items.map((i) => ('oid' in i ? oid(i.oid) : seq(oid(i.type), set(...i.values)))));
}

export function decodeCsrAttrs(der: Uint8Array): AttrOrOid[] {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.SEQUENCE || outer.end !== der.length) throw new Error('CsrAttrs: not a single SEQUENCE');
  return childList(der, outer).map((t): AttrOrOid => {
    if (t.tag === Tag.OID) return { oid: readOid(der, t) };
    if (t.tag !== Tag.SEQUENCE) throw new Error('CsrAttrs: AttrOrOID is neither an OID nor an Attribute');
    const [type, values, ...rest] = childList(der, t);
    if (!type || !values || rest.length || values.tag !== Tag.SET) throw new Error('CsrAttrs: malformed Attribute');
    const vs = childList(der, values).map((v) => Buffer.from(tlvBytes(der, v)));
    if (vs.length === 0) throw new Error('CsrAttrs: an Attribute needs at least one value');
    return { type: readOid(der, type), values: vs };
  });
}

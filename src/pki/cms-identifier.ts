/**
 * How CMS names a signer's or a recipient's certificate (RFC 5652 §5.3, §6.2.1, §10.2.4).
 *
 *   SignerIdentifier ::= CHOICE {            RecipientIdentifier ::= CHOICE {
 *     issuerAndSerialNumber IssuerAndSerialNumber,  (the same two alternatives)
 *     subjectKeyIdentifier [0] SubjectKeyIdentifier }
 *
 *   IssuerAndSerialNumber ::= SEQUENCE {
 *     issuer Name,
 *     serialNumber CertificateSerialNumber }
 *
 *   SubjectKeyIdentifier ::= OCTET STRING
 */
import { berChildren, berOctets, definiteBytes, expectBer, type Ber } from './ber.ts';
import { Tag, implicitPrimitive, seq, tlv } from './der.ts';
import { parseCertificate } from './certificate.ts';
import { keyIdentifier } from './extensions.ts';

export type CmsIdentifier =
  | {
      kind: 'issuerAndSerial';
      issuer: Buffer;
      /** canonicalSerial() of the serial: compare with this. */
      serialHex: string;
      /** The INTEGER content octets exactly as encoded (kept so re-encoding is exact). */
      serial?: Buffer;
    }
  | { kind: 'ski'; keyId: Buffer };

/** Hex of a serial number with leading zero octets dropped (INTEGER content octets). */
export function canonicalSerial(hex: string): string {
  const h = hex.toLowerCase().replace(/^(00)+/, '');
  return h === '' ? '00' : h;
}

export function decodeIdentifier(buf: Uint8Array, b: Ber | undefined): CmsIdentifier {
  if (b?.tag === 0x30) {
    const [nameT, serialT, extra] = berChildren(buf, b);
    expectBer(serialT, 0x02, 'serialNumber');
    if (extra) throw new Error('unexpected element in IssuerAndSerialNumber');
    const serial = Buffer.from(buf.subarray(serialT.start, serialT.end));
    if (serial.length === 0) throw new Error('empty serialNumber');
    return {
      kind: 'issuerAndSerial',
      issuer: definiteBytes(buf, expectBer(nameT, 0x30, 'issuer Name'), 'issuer Name'),
      serialHex: canonicalSerial(serial.toString('hex')),
      serial,
    };
  }
  if (b?.tag === 0x80 || b?.tag === 0xa0) return { kind: 'ski', keyId: berOctets(buf, b) };
  throw new Error('bad SignerIdentifier / RecipientIdentifier');
}

export function encodeIdentifier(id: CmsIdentifier): Buffer {
  if (id.kind === 'ski') return implicitPrimitive(0, id.keyId);
  if (id.serial) return seq(id.issuer, tlv(Tag.INTEGER, id.serial));
  const serial = Buffer.from(id.serialHex.length % 2 ? `0${id.serialHex}` : id.serialHex, 'hex');
  // canonicalSerial drops a sign octet: put it back for a positive INTEGER.
  return seq(id.issuer, tlv(Tag.INTEGER, serial[0] & 0x80 ? Buffer.concat([Buffer.from([0]), serial]) : serial));
}

/** The IssuerAndSerialNumber of a certificate (issuer Name bytes verbatim). */
export function issuerAndSerialOf(certDer: Uint8Array): CmsIdentifier {
  const c = parseCertificate(certDer);
  const serial = Buffer.from(c.serialHex, 'hex');
  return { kind: 'issuerAndSerial', issuer: Buffer.from(c.issuer), serialHex: canonicalSerial(c.serialHex), serial };
}

/**
 * Whether `id` names this certificate. A key identifier matches the certificate's
 * subjectKeyIdentifier or, when it has none and `spki` is given, RFC 5280 method 1 of its key.
 */
export function identifierMatches(id: CmsIdentifier, cert: { serialHex: string; issuer: Uint8Array; ski?: Buffer; spki?: Uint8Array }): boolean {
  if (id.kind === 'issuerAndSerial') return canonicalSerial(cert.serialHex) === id.serialHex && Buffer.from(cert.issuer).equals(id.issuer);
  const ski = cert.ski ?? (cert.spki ? keyIdentifier(cert.spki) : undefined);
  return !!ski && ski.equals(id.keyId);
}

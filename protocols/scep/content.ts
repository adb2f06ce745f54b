/**
 * The inner content of a SCEP request (RFC 8894 §3.3), after the pkcsPKIEnvelope is decrypted:
 *
 *   PKCSReq, RenewalReq: a PKCS#10 CertificationRequest (checked by the pipeline)
 *   CertPoll:  IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }
 *   GetCert, GetCRL: IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }
 *
 * Names are kept as their DER bytes: they are compared with the bytes in our certificates.
 */
import { expectTlv, integerFromBytes, seq, Tag, tlvBytes } from '../../src/pki/der.ts';

export class ScepContentError extends Error {}

export interface IssuerAndSubject {
  issuer: Buffer;
  subject: Buffer;
}

export interface IssuerAndSerial {
  issuer: Buffer;
  /** Lower-case hex of the serial's INTEGER content octets (as certificates store it). */
  serialHex: string;
}

function twoFields(der: Uint8Array, what: string) {
  try {
    const outer = expectTlv(der, 0, Tag.SEQUENCE, what);
    if (outer.end !== der.length) throw new Error('trailing bytes');
    const first = expectTlv(der, outer.start, Tag.SEQUENCE, 'issuer Name');
    const second = expectTlvAny(der, first.end);
    if (second.end !== outer.end) throw new Error('unexpected fields');
    return { first: Buffer.from(tlvBytes(der, first)), second, der };
  } catch (e) {
    throw new ScepContentError(`${what}: ${(e as Error).message}`);
  }
}

function expectTlvAny(der: Uint8Array, offset: number) {
  return expectTlv(der, offset, der[offset], 'field');
}

export function decodeIssuerAndSubject(der: Uint8Array): IssuerAndSubject {
  const { first, second } = twoFields(der, 'IssuerAndSubject');
  if (second.tag !== Tag.SEQUENCE) throw new ScepContentError('IssuerAndSubject: subject is not a Name');
  return { issuer: first, subject: Buffer.from(tlvBytes(der, second)) };
}

export function decodeIssuerAndSerial(der: Uint8Array): IssuerAndSerial {
  const { first, second } = twoFields(der, 'IssuerAndSerialNumber');
  if (second.tag !== Tag.INTEGER || second.length < 1 || second.length > 40) throw new ScepContentError('IssuerAndSerialNumber: bad serialNumber');
  const bytes = Buffer.from(der.subarray(second.start, second.end));
  if (bytes[0] & 0x80) throw new ScepContentError('IssuerAndSerialNumber: negative serialNumber');
  return { issuer: first, serialHex: bytes.toString('hex') };
}

export function encodeIssuerAndSubject(v: IssuerAndSubject): Buffer {
  return seq(v.issuer, v.subject);
}

export function encodeIssuerAndSerial(issuer: Uint8Array, serialHex: string): Buffer {
  const bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  return seq(issuer, integerFromBytes(bytes));
}

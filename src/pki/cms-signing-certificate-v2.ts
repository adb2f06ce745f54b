/**
 * ESS signing-certificate-v2 signed attribute (RFC 5035 §3): binds a CMS signature to the signer's
 * certificate, as CAdES and PAdES baseline signatures require (ETSI EN 319 122-1 §5.2.2).
 *
 *   id-aa-signingCertificateV2 OBJECT IDENTIFIER ::= { 1 2 840 113549 1 9 16 2 47 }
 *   SigningCertificateV2 ::= SEQUENCE {
 *     certs SEQUENCE OF ESSCertIDv2,
 *     policies SEQUENCE OF PolicyInformation OPTIONAL }
 *   ESSCertIDv2 ::= SEQUENCE {
 *     hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *     certHash OCTET STRING,
 *     issuerSerial IssuerSerial OPTIONAL }
 *   IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
 *
 * DER leaves out a DEFAULT value: with SHA-256 the hashAlgorithm is absent.
 */
import { createHash } from 'node:crypto';
import { berChildren, berOctets, berOid, expectBer, readBerRoot } from './ber.ts';
import { parseTbsCertificate } from './certificate.ts';
import { expectTlv } from './der.ts';
import { explicit, nullValue, octetString, oid, seq, tlv, Tag } from './der.ts';

export const signingCertificateV2Oid = '1.2.840.113549.1.9.16.2.47';

const hashOids: Record<'sha256' | 'sha384' | 'sha512', string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/** The attribute value (DER SigningCertificateV2) naming `certDer`. */
export function encodeSigningCertificateV2(certDer: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512' = 'sha256'): Buffer {
  const c = parseTbsCertificate(certDer, expectTlv(certDer, expectTlv(certDer, 0, Tag.SEQUENCE, 'Certificate').start, Tag.SEQUENCE, 'TBSCertificate'));
  const certHash = createHash(hash).update(certDer).digest();
  // GeneralNames with one directoryName ([4] EXPLICIT Name), then the serial as encoded.
  const issuerSerial = seq(seq(explicit(4, c.issuer)), tlv(Tag.INTEGER, c.serial));
  const id = hash === 'sha256' ? seq(octetString(certHash), issuerSerial) : seq(seq(oid(hashOids[hash]), nullValue()), octetString(certHash), issuerSerial);
  return seq(seq(id));
}

export interface EssCertIdV2 {
  hash: string;
  certHash: Buffer;
}

/** The first ESSCertIDv2 of a SigningCertificateV2 value (hash algorithm name and the certificate hash). */
export function decodeSigningCertificateV2(der: Uint8Array): EssCertIdV2 {
  const root = expectBer(readBerRoot(der, 'SigningCertificateV2'), 0x30, 'SigningCertificateV2');
  const [certs] = berChildren(der, root);
  const [first] = berChildren(der, expectBer(certs, 0x30, 'certs'));
  const parts = berChildren(der, expectBer(first, 0x30, 'ESSCertIDv2'));
  let hash = 'sha256';
  let i = 0;
  if (parts[0]?.tag === 0x30) {
    const algOid = berOid(der, berChildren(der, parts[0])[0], 'hashAlgorithm');
    hash = Object.entries(hashOids).find(([, o]) => o === algOid)?.[0] ?? algOid;
    i = 1;
  }
  const h = expectBer(parts[i], 0x04, 'certHash');
  return { hash, certHash: berOctets(der, h) };
}

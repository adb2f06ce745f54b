import { createHash } from 'node:crypto';
import type { Signer } from './signer.ts';

/** Per-issuer CRL and OCSP settings, kept as JSON in issuers.options. */
export interface IssuerOptions {
  /** Hours a full CRL is valid; defaults to the server setting. */
  crlValidityHours?: number;
  /** Publish delta CRLs, valid this many hours (0/undefined = off). */
  deltaCrlHours?: number;
  /** Split the CRL into this many partitions (issuing distribution point); 0/1 = one CRL. */
  crlPartitions?: number;
  /**
   * The issuer that takes over from this one at a CA rollover (key change), set by an operator
   * before the switch: SCEP announces it with GetNextCACert (RFC 8894 §4.7).
   */
  successorId?: string;
  /** RSA keys: sign RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) instead of PKCS#1 v1.5. */
  signatureScheme?: 'rsa-pss';
  /** Anything the OCSP responder keeps per issuer (responder certificate, validity, caching). */
  ocsp?: Record<string, unknown>;
}

/** An issuing or root CA, loaded with its signer. Immutable; the registry swaps whole objects. */
export interface Issuer {
  id: string;
  name: string;
  parentId: string | null;
  certDer: Buffer;
  /** Raw DER subject Name: copied verbatim as the issuer Name of what it signs. */
  subjectDer: Buffer;
  subject: string;
  spki: Buffer;
  /** Subject key identifier: the AKI of everything it signs. */
  keyId: Buffer;
  notBefore: Date;
  notAfter: Date;
  status: 'active' | 'retired';
  isDefault: boolean;
  isRoot: boolean;
  signer: Signer;
  /** The issuer's key in the key store (src/ca/keystore.ts). */
  keyRef: string;
  /** Issuer certificates from this one up to the root, DER. */
  chain: Buffer[];
  options: IssuerOptions;
  /** SHA-1 and SHA-256 of the subject Name DER and of the public key BIT STRING: OCSP CertID lookups. */
  hashes: { nameSha1: string; keySha1: string; nameSha256: string; keySha256: string };
}

export interface IssuerUrls {
  crl: string;
  caIssuers: string;
  ocsp: string;
}

/** Where relying parties find an issuer's CRL (partition > 0: that partition's CRL), certificate and OCSP. */
export function issuerUrls(publicUrl: string, issuerId: string, partition = 0): IssuerUrls {
  return {
    crl: partition > 0 ? `${publicUrl}/crl/${issuerId}-p${partition}.crl` : `${publicUrl}/crl/${issuerId}.crl`,
    caIssuers: `${publicUrl}/ca/${issuerId}.crt`,
    ocsp: `${publicUrl}/ocsp`,
  };
}

export function hashHex(alg: 'sha1' | 'sha256', data: Uint8Array): string {
  return createHash(alg).update(data).digest('hex');
}

import type { KeyInfo } from '../pki/keyinfo.ts';

/**
 * The pipeline contract (DESIGN.md "The pipeline contract"): every protocol builds an
 * EnrollmentRequest and maps the IssuanceResult (or a typed IssuanceError) back to its wire format.
 */

export type Protocol = 'acme' | 'est' | 'scep' | 'cmp' | 'emca' | 'admin' | 'cli' | 'internal';

export type AuthMethod =
  | 'acme-jws'
  | 'hmac'
  | 'password'
  | 'tls-client-cert'
  | 'challenge-password'
  | 'bearer-token'
  | 'cms-signature'
  | 'local'
  | 'none';

export interface Principal {
  /** Stable identity, e.g. `acme:account:42`, `emca:client:app1`, `operator:alice`. */
  id: string;
  protocol: Protocol;
  authenticatedBy: AuthMethod;
  /** Profiles this principal may use; undefined means any. */
  allowedProfiles?: string[];
  /**
   * Identifiers the principal has proven control of (ACME authorizations, an EST/SCEP RA's
   * allow-list). When set, every SAN of the certificate must be covered by one of them.
   */
  authorizedIdentifiers?: Identifier[];
}

export type IdentifierType = 'dns' | 'ip' | 'email' | 'uri';
export interface Identifier {
  type: IdentifierType;
  value: string;
}

/** A subject attribute by short name (CN, O, OU, C, ST, L, E, serialNumber, …) or dotted OID. */
export interface SubjectAttribute {
  type: string;
  value: string;
}

export type KeySpec =
  | { type: 'EC'; curve: 'P-256' | 'P-384' | 'P-521' }
  /** Brainpool curves: keys of CV certificates (TR-03110), never offered to X.509 profile clients. */
  | { type: 'EC'; curve: 'brainpoolP256r1' | 'brainpoolP384r1' | 'brainpoolP512r1' }
  | { type: 'RSA'; bits: number }
  | { type: 'Ed25519' };

export type PublicKeyInput =
  /** A PKCS#10 request; the pipeline verifies its signature (proof of possession). */
  | { kind: 'csr'; der: Uint8Array }
  /**
   * A bare SubjectPublicKeyInfo whose possession the protocol already proved (CRMF POP, renewal,
   * a CSR the protocol parsed itself). `keyInfo`, when the protocol already loaded the key, spares
   * loading it again.
   */
  | { kind: 'spki'; der: Uint8Array; pop: 'verified-by-protocol' | 'renewal'; keyInfo?: KeyInfo }
  /** The server generates the key pair (emCA createPKCS12); the private key comes back in the result. */
  | { kind: 'generate'; spec: KeySpec };

export interface ValidityRequest {
  /** A duration: emCA `D:H:M:S`, ISO 8601 `P90D`/`PT12H`, or a number of seconds. */
  duration?: string | number;
  /** Absolute bounds: Date, RFC 3339, or emCA `dd:MM:yyyy HH:mm:ss`. */
  notBefore?: string | Date;
  notAfter?: string | Date;
}

export interface EnrollmentRequest {
  principal: Principal;
  /** Profile name. */
  profile: string;
  key: PublicKeyInput;
  /** Requested subject; when absent the CSR's subject is used. A string is an RFC 4514 DN. */
  subject?: SubjectAttribute[] | string;
  /** Requested SANs; when absent the CSR's extensionRequest SANs are used. */
  sans?: Identifier[];
  validity?: ValidityRequest;
  /**
   * Idempotency key, unique per protocol (emCA applicationId, SCEP transactionID, CMP
   * transactionID+certReqId, ACME order id). The same key always returns the same result.
   */
  idempotencyKey?: string;
  /**
   * The caller knows no earlier attempt used this idempotency key (e.g. it has just won an atomic
   * state transition), so the lookup of a stored result is skipped. A wrong claim costs a wasted
   * signature, never a second certificate: the key's unique index still refuses the row.
   */
  idempotencyKeyUnused?: boolean;
  /** Renewal (same key allowed) or re-key (key must change) of an existing certificate. */
  replaces?: { issuerId?: string; serial: string; mode: 'renew' | 'rekey' };
  /** Issuer chosen by the caller (must be allowed by the profile); else the profile's issuer. */
  issuerId?: string;
  /** Free-form data stored with the certificate (emCA subscriberId, ACME order URL, …). */
  metadata?: Record<string, unknown>;
}

export interface IssuedCertificate {
  id: string;
  issuerId: string;
  /** Lower-case hex, no leading zeros stripped beyond DER's own. */
  serial: string;
  der: Uint8Array;
  subject: string;
  sans: Identifier[];
  notBefore: Date;
  notAfter: Date;
  profile: string;
}

export type IssuanceResult =
  | {
      status: 'issued';
      certificate: IssuedCertificate;
      /** Issuer certificates, nearest first (issuing CA … root), DER. */
      chain: Uint8Array[];
      /** PKCS#8 DER of a key the server generated (key.kind === 'generate'), else undefined. */
      privateKey?: Uint8Array;
      /** True when this result was returned for an idempotency key already used. */
      replayed: boolean;
    }
  | { status: 'pending'; requestId: string; replayed: boolean }
  | { status: 'rejected'; requestId: string; reason: string; replayed: boolean };

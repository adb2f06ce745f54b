/**
 * The shape every lint group shares. A lint reads the certificate about to be signed (decoded from
 * the very TBSCertificate DER that goes to the signer) and the rules that apply to it, and returns
 * a problem text or undefined.
 */
import type { ParsedTbsCertificate } from '../pki/certificate.ts';
import type { SubjectAttribute } from '../issuance/request.ts';

export type KeyType = 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'unknown';

/** What the profile and issuer say the certificate may contain. */
export interface LintRules {
  profile: string;
  /** Key usages the profile grants (before the key-type filter). */
  keyUsage: readonly string[];
  /** Extended key usage OIDs the profile sets (exactly these, or none). */
  extendedKeyUsage: readonly string[];
  /**
   * Whether the CA/B BR TLS server rules apply (SAN present, CN among the SANs, EC key usage):
   * the profile asserts serverAuth and is a TLS server profile — serverAuth without clientAuth, or
   * SANs required. A dual-use device profile without required SANs gets the RFC 5280 rules only.
   */
  tlsServer: boolean;
  /** basicConstraints cA the profile sets. */
  ca: boolean;
  /** Longest validity in seconds (profile max plus its clock-skew backdate). */
  maxValiditySeconds: number;
  issuer: { notBefore: Date; notAfter: Date; keyId: Uint8Array };
}

/** The certificate, decoded once for every lint. */
export interface LintSubject {
  tbs: ParsedTbsCertificate;
  keyType: KeyType;
  /** Extensions by OID (the first of duplicates; `duplicates` lists the rest). */
  ext: Map<string, { critical: boolean; value: Uint8Array }>;
  duplicates: string[];
  /** Decoded on first use. */
  subject(): SubjectAttribute[];
  keyUsage(): string[] | undefined;
  extendedKeyUsage(): string[] | undefined;
  sans(): { type: string; value: string }[] | undefined;
}

export interface Lint {
  /** Rule name; a refusal carries `lint.<name>`. */
  name: string;
  /** RFC 5280 / CA/B BR section, for the reader. */
  source: string;
  check(c: LintSubject, r: LintRules): string | undefined;
}

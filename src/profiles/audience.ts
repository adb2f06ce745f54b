/**
 * Who a profile is for. `end-entity` profiles are what protocol clients (ACME, emCA, EST, SCEP,
 * CMP) enrol for. `system` profiles make certificates with power over the PKI itself: a CA, a
 * delegated OCSP responder, an RA or protocol signer that other parties trust on the CA's behalf.
 * Only operator and internal paths may have those issued (issue: a registered emCA client got an
 * OCSP-signing certificate and forged "good" answers for a revoked certificate).
 *
 * The audience is derived from what the profile puts into certificates and can only be raised by
 * the stored field, never lowered: a stored profile that omits the field, or says `end-entity` while
 * granting OCSP signing, is still `system`. Anything the derivation does not understand (an EKU name
 * it cannot resolve) counts as system: fail closed.
 */
import type { Protocol } from '../issuance/request.ts';
import { ekuOids } from '../pki/oids.ts';
import type { Profile } from './model.ts';

export type Audience = 'end-entity' | 'system';

/** Profiles that are system profiles by name, whatever their stored definition says. */
export const systemProfileNames: ReadonlySet<string> = new Set([
  'ocsp-signing',
  'emca-client-signing',
  'scep-ra',
  'cmp-signer',
  'est-server',
]);

/** Principals that may use system profiles: the operator's own paths and the server itself. */
const operatorProtocols: ReadonlySet<string> = new Set<Protocol>(['admin', 'cli', 'internal']);

/** EKUs that make a certificate an authority other parties trust on the CA's behalf. */
const powerfulEkus = new Set([
  ekuOids.OCSPSigning,
  ekuOids.cmcCA,
  ekuOids.cmcRA,
  ekuOids.cmKGA,
  // anyExtendedKeyUsage would let a relying party that accepts it treat the certificate as anything.
  ekuOids.anyExtendedKeyUsage,
]);

const ekuByLower = new Map(Object.entries(ekuOids).map(([k, v]) => [k.toLowerCase(), v]));

type AudienceFields = Pick<Profile, 'name' | 'basicConstraints' | 'keyUsage' | 'extendedKeyUsage' | 'ocspNoCheck'> & {
  audience?: Audience;
};

/** Why a profile is a system profile, or undefined for an end-entity profile. */
export function systemReason(p: AudienceFields): string | undefined {
  if (p.audience === 'system') return 'its audience is system';
  if (systemProfileNames.has(p.name)) return 'its name is reserved for a system profile';
  if (p.basicConstraints?.ca) return 'it issues CA certificates (basicConstraints cA)';
  if (p.ocspNoCheck) return 'it issues OCSP responder certificates (ocsp-nocheck)';
  if (p.keyUsage?.some((u) => u === 'keyCertSign' || u === 'cRLSign')) return 'it grants keyCertSign or cRLSign';
  for (const name of p.extendedKeyUsage ?? []) {
    const oid = /^\d+(\.\d+)+$/.test(name) ? name : ekuByLower.get(name.toLowerCase());
    if (!oid) return `its extended key usage "${name}" is not understood`;
    if (powerfulEkus.has(oid)) return `it grants the extended key usage ${name}`;
  }
  return undefined;
}

export function profileAudience(p: AudienceFields): Audience {
  return systemReason(p) === undefined ? 'end-entity' : 'system';
}

/** Whether a principal of this protocol may use system profiles. */
export function mayUseSystemProfiles(protocol: string): boolean {
  return operatorProtocols.has(protocol);
}

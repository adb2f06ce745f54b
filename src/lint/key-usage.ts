/**
 * Key usage lints: the usages must suit the key (RFC 5480 §3 for EC, RFC 8410 §5 for Ed25519,
 * RFC 4055 / RFC 5280 for RSA; CA/B BR §7.1.2.7.11), stay within the profile, and agree with
 * basicConstraints (RFC 5280 §4.2.1.3, §4.2.1.9).
 */
import { ekuOids, ext } from '../pki/oids.ts';
import type { KeyType, Lint } from './types.ts';

/** Usages each key type can serve. */
const possible: Record<Exclude<KeyType, 'unknown'>, ReadonlySet<string>> = {
  RSA: new Set(['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyCertSign', 'cRLSign']),
  EC: new Set(['digitalSignature', 'nonRepudiation', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly']),
  Ed25519: new Set(['digitalSignature', 'nonRepudiation', 'keyCertSign', 'cRLSign']),
  Ed448: new Set(['digitalSignature', 'nonRepudiation', 'keyCertSign', 'cRLSign']),
};

export const keyUsageLints: Lint[] = [
  {
    name: 'keyUsage.present',
    source: 'RFC 5280 §4.2.1.3 (CA), CA/B BR §7.1.2.7.11 (TLS server)',
    check: (c, r) => {
      if (c.ext.has(ext.keyUsage)) return undefined;
      if (r.ca) return 'a CA certificate needs keyUsage';
      if (r.tlsServer && c.extendedKeyUsage()?.includes(ekuOids.serverAuth)) return 'a TLS server certificate needs keyUsage';
      return undefined;
    },
  },
  {
    name: 'keyUsage.critical',
    source: 'RFC 5280 §4.2.1.3',
    check: (c) => (c.ext.has(ext.keyUsage) && !c.ext.get(ext.keyUsage)!.critical ? 'keyUsage should be critical' : undefined),
  },
  {
    name: 'keyUsage.keyType',
    source: 'RFC 5480 §3, RFC 8410 §5, CA/B BR §7.1.2.7.11',
    check: (c, r) => {
      const usages = c.keyUsage();
      if (!usages) return undefined;
      if (c.keyType === 'unknown') return 'the public key algorithm is not known, so its key usage cannot be checked';
      const ok = possible[c.keyType];
      const bad = usages.filter((u) => !ok.has(u));
      if (bad.length) return `${c.keyType} keys cannot have ${bad.join(', ')}`;
      if ((usages.includes('encipherOnly') || usages.includes('decipherOnly')) && !usages.includes('keyAgreement')) {
        return 'encipherOnly and decipherOnly need keyAgreement';
      }
      // A TLS server's EC key signs (ECDHE) or agrees (static ECDH); nothing else.
      if (c.keyType === 'EC' && r.tlsServer && c.extendedKeyUsage()?.includes(ekuOids.serverAuth) && !signOrAgreeOnly(usages)) {
        return 'an EC TLS server certificate may have digitalSignature and keyAgreement only';
      }
      return undefined;
    },
  },
  {
    name: 'keyUsage.profile',
    source: 'profile keyUsage',
    check: (c, r) => {
      const extra = (c.keyUsage() ?? []).filter((u) => !r.keyUsage.includes(u));
      return extra.length ? `key usage ${extra.join(', ')} is not granted by profile "${r.profile}"` : undefined;
    },
  },
  {
    name: 'keyUsage.ca',
    source: 'RFC 5280 §4.2.1.3, §4.2.1.9',
    check: (c, r) => {
      const certSign = c.keyUsage()?.includes('keyCertSign') ?? false;
      if (certSign && !r.ca) return 'keyCertSign needs basicConstraints cA';
      if (r.ca && !certSign) return 'a CA certificate needs keyCertSign';
      return undefined;
    },
  },
];

function signOrAgreeOnly(usages: string[]): boolean {
  return usages.every((u) => u === 'digitalSignature' || u === 'keyAgreement');
}

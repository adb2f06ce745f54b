/** Extended key usage lints (RFC 5280 §4.2.1.12, CA/B BR §7.1.2.7.10, §7.1.2.8.5). */
import { ekuOids } from '../pki/oids.ts';
import type { Lint } from './types.ts';

export const ekuLints: Lint[] = [
  {
    name: 'eku.profile',
    source: 'profile extendedKeyUsage',
    check: (c, r) => {
      const got = c.extendedKeyUsage() ?? [];
      const want = r.extendedKeyUsage;
      const extra = got.filter((o) => !want.includes(o));
      const missing = want.filter((o) => !got.includes(o));
      if (extra.length) return `extended key usage ${extra.join(', ')} is not set by profile "${r.profile}"`;
      if (missing.length) return `extended key usage ${missing.join(', ')} of profile "${r.profile}" is missing`;
      return undefined;
    },
  },
  {
    name: 'eku.notEmpty',
    source: 'RFC 5280 §4.2.1.12 (SIZE (1..MAX))',
    check: (c) => (c.extendedKeyUsage()?.length === 0 ? 'extendedKeyUsage is empty' : undefined),
  },
  {
    name: 'eku.serverAuth.any',
    source: 'CA/B BR §7.1.2.7.10',
    check: (c) => {
      const e = c.extendedKeyUsage() ?? [];
      return e.includes(ekuOids.serverAuth) && e.includes(ekuOids.anyExtendedKeyUsage)
        ? 'a TLS server certificate must not carry anyExtendedKeyUsage'
        : undefined;
    },
  },
  {
    name: 'eku.ocspSigning.alone',
    source: 'CA/B BR §7.1.2.8.5',
    check: (c) => {
      const e = c.extendedKeyUsage() ?? [];
      return e.includes(ekuOids.OCSPSigning) && e.length > 1 ? 'an OCSP responder certificate carries id-kp-OCSPSigning only' : undefined;
    },
  },
];

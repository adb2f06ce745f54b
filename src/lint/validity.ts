/** Validity lints (RFC 5280 §4.1.2.5, CA/B BR §6.3.2): order, encoding, issuer and profile bounds. */
import { Tag } from '../pki/der.ts';
import type { Lint } from './types.ts';

const Y2050 = Date.UTC(2050, 0, 1);

export const validityLints: Lint[] = [
  {
    name: 'validity.order',
    source: 'RFC 5280 §4.1.2.5',
    check: ({ tbs }) => (tbs.notAfter.getTime() <= tbs.notBefore.getTime() ? 'notAfter is not after notBefore' : undefined),
  },
  {
    name: 'validity.encoding',
    source: 'RFC 5280 §4.1.2.5',
    check: ({ tbs }) => {
      const times = [tbs.notBefore, tbs.notAfter];
      for (let i = 0; i < 2; i++) {
        const want = times[i].getTime() < Y2050 ? Tag.UTC_TIME : Tag.GENERALIZED_TIME;
        if (tbs.timeTags[i] !== want) return `${i ? 'notAfter' : 'notBefore'} must be ${want === Tag.UTC_TIME ? 'UTCTime before 2050' : 'GeneralizedTime from 2050'}`;
      }
      return undefined;
    },
  },
  {
    name: 'validity.issuer',
    source: 'RFC 5280 §6.1.3 (a)(2)',
    check: ({ tbs }, r) => {
      if (tbs.notBefore.getTime() < r.issuer.notBefore.getTime()) return 'notBefore is before the issuer certificate starts';
      if (tbs.notAfter.getTime() > r.issuer.notAfter.getTime()) return 'notAfter is after the issuer certificate ends';
      return undefined;
    },
  },
  {
    name: 'validity.profile',
    source: 'profile validity.max (CA/B BR §6.3.2 for TLS)',
    check: ({ tbs }, r) => {
      const seconds = (tbs.notAfter.getTime() - tbs.notBefore.getTime()) / 1000;
      return seconds > r.maxValiditySeconds ? `the validity of ${seconds} s exceeds the profile maximum of ${r.maxValiditySeconds} s` : undefined;
    },
  },
];

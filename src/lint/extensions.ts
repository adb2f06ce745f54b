/**
 * Extension lints: no duplicates (RFC 5280 §4.2), key identifiers (§4.2.1.1, §4.2.1.2),
 * basicConstraints (§4.2.1.9), CRL distribution points and authority information access URIs
 * well formed (§4.2.1.13, §4.2.2.1; CA/B BR §7.1.2.7.7, §7.1.2.11.2).
 */
import { decodeAuthorityInfoAccess, decodeAuthorityKeyIdentifier, decodeBasicConstraints, decodeDistributionPoints, decodeSubjectKeyIdentifier } from '../pki/extensions.ts';
import { accessMethod, ext } from '../pki/oids.ts';
import { byBytes } from './memo.ts';
import type { Lint } from './types.ts';

/** URIs already found well formed: every certificate of an issuer repeats the same few. */
const goodUris = new Set<string>();

/** Why a CRL/AIA URI is not a well-formed http(s) or ldap URI, or undefined. */
export function uriProblem(uri: string): string | undefined {
  if (goodUris.has(uri)) return undefined;
  if (!/^[\x21-\x7e]+$/.test(uri)) return 'has spaces, controls or non-ASCII characters';
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return 'is not a valid URI';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'ldap:') return `has scheme ${u.protocol.slice(0, -1)}, not http or ldap`;
  if (u.protocol !== 'ldap:' && !u.hostname) return 'has no host';
  if (u.hash) return 'has a fragment';
  if (u.username || u.password) return 'carries credentials';
  if (goodUris.size < 1000) goodUris.add(uri);
  return undefined;
}

/** Why a cRLDistributionPoints value is not acceptable, or undefined; remembered per encoding. */
const crlDpProblem = byBytes((value): string | undefined => {
  const dp = decodeDistributionPoints(value);
  if (dp.uris.length === 0) return 'cRLDistributionPoints names no URI';
  for (const u of dp.uris) {
    const p = uriProblem(u);
    if (p) return `CRL distribution point "${u.slice(0, 100)}" ${p}`;
  }
  return undefined;
});

/** Why an authorityInfoAccess value is not acceptable, or undefined; remembered per encoding. */
const aiaProblem = byBytes((value): string | undefined => {
  for (const ad of decodeAuthorityInfoAccess(value)) {
    if (ad.method !== accessMethod.ocsp && ad.method !== accessMethod.caIssuers) return `authorityInfoAccess method ${ad.method} is not OCSP or caIssuers`;
    if (ad.uri === undefined) return 'authorityInfoAccess location is not a URI';
    const p = uriProblem(ad.uri);
    if (p) return `authorityInfoAccess location "${ad.uri.slice(0, 100)}" ${p}`;
  }
  return undefined;
});

const akiOf = byBytes(decodeAuthorityKeyIdentifier);
const basicConstraintsOf = byBytes(decodeBasicConstraints);

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

export const extensionLints: Lint[] = [
  {
    name: 'ext.duplicate',
    source: 'RFC 5280 §4.2',
    check: (c) => (c.duplicates.length ? `extension ${c.duplicates[0]} appears more than once` : undefined),
  },
  {
    name: 'ext.version',
    source: 'RFC 5280 §4.1.2.1',
    check: (c) => (c.ext.size > 0 && c.tbs.version !== 3 ? 'a certificate with extensions must be version 3' : undefined),
  },
  {
    name: 'aki.present',
    source: 'RFC 5280 §4.2.1.1',
    check: (c, r) => {
      const e = c.ext.get(ext.authorityKeyIdentifier);
      if (!e) return 'authorityKeyIdentifier is missing';
      if (e.critical) return 'authorityKeyIdentifier must not be critical';
      const id = akiOf(e.value);
      if (!id) return 'authorityKeyIdentifier has no keyIdentifier';
      if (!equal(id, r.issuer.keyId)) return "authorityKeyIdentifier is not the issuer's key identifier";
      return undefined;
    },
  },
  {
    name: 'ski.present',
    source: 'RFC 5280 §4.2.1.2',
    check: (c) => {
      const e = c.ext.get(ext.subjectKeyIdentifier);
      if (!e) return 'subjectKeyIdentifier is missing';
      if (e.critical) return 'subjectKeyIdentifier must not be critical';
      if (decodeSubjectKeyIdentifier(e.value).length === 0) return 'subjectKeyIdentifier is empty';
      return undefined;
    },
  },
  {
    name: 'basicConstraints',
    source: 'RFC 5280 §4.2.1.9',
    check: (c, r) => {
      const e = c.ext.get(ext.basicConstraints);
      if (!e) return r.ca ? 'a CA certificate needs basicConstraints' : undefined;
      const bc = basicConstraintsOf(e.value);
      if (bc.ca !== r.ca) return `basicConstraints cA is ${bc.ca} but profile "${r.profile}" says ${r.ca}`;
      if (bc.ca && !e.critical) return 'basicConstraints of a CA certificate must be critical';
      if (!bc.ca && bc.pathLength !== undefined) return 'pathLenConstraint needs cA';
      return undefined;
    },
  },
  {
    name: 'crlDistributionPoints.uri',
    source: 'RFC 5280 §4.2.1.13, CA/B BR §7.1.2.11.2',
    check: (c) => {
      const e = c.ext.get(ext.crlDistributionPoints);
      if (!e) return undefined;
      return crlDpProblem(e.value);
    },
  },
  {
    name: 'authorityInfoAccess.uri',
    source: 'RFC 5280 §4.2.2.1, CA/B BR §7.1.2.7.7',
    check: (c) => {
      const e = c.ext.get(ext.authorityInfoAccess);
      if (!e) return undefined;
      if (e.critical) return 'authorityInfoAccess must not be critical';
      return aiaProblem(e.value);
    },
  },
];

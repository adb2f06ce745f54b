/**
 * What /csrattrs tells a client about the CSR its label wants (RFC 7030 §4.5.2), derived from the
 * label's profile:
 *  - challengePassword, when the label requires the channel binding in it (§3.5);
 *  - the subject attributes the profile requires, as bare OIDs;
 *  - the key types: `{ ecPublicKey, { curves… } }` for the allowed curves, rsaEncryption when RSA
 *    is allowed, id-Ed25519 when allowed; and ecdsa-with-SHA256 as the signature it prefers;
 *  - `{ extensionRequest, { subjectAltName } }` when the profile takes any SAN type.
 */
import { attributeOid, alg, ext } from '../../src/pki/oids.ts';
import { oid } from '../../src/pki/der.ts';
import { encodeCsrAttrs, type AttrOrOid } from '../../src/pki/csr-attrs.ts';
import type { Profile } from '../../src/profiles/model.ts';

const curveOid: Record<string, string> = { 'P-256': '1.2.840.10045.3.1.7', 'P-384': '1.3.132.0.34', 'P-521': '1.3.132.0.35' };

export function csrAttrsFor(profile: Profile, channelBinding: boolean): Buffer {
  const items: AttrOrOid[] = [];
  if (channelBinding) items.push({ oid: ext.challengePassword });
  for (const a of profile.subject.attributes) {
    if (a.rule !== 'required') continue;
    const o = attributeOid(a.type);
    if (o) items.push({ oid: o });
  }
  const curves = profile.keys.ec?.curves ?? [];
  if (curves.length) items.push({ type: alg.ecPublicKey, values: curves.map((c) => oid(curveOid[c])) });
  if (profile.keys.rsa) items.push({ oid: alg.rsaEncryption });
  if (profile.keys.ed25519) items.push({ oid: alg.ed25519 });
  if (curves.length) items.push({ oid: alg.ecdsaWithSHA256 });
  const s = profile.san;
  if (s.dns.allowed || s.ip.allowed || s.email.allowed || s.uri.allowed) items.push({ type: ext.extensionRequest, values: [oid(ext.subjectAltName)] });
  return encodeCsrAttrs(items);
}

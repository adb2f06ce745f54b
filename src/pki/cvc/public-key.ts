/**
 * The CV public key (tag 7F49, TR-03110-3 D.3): an algorithm OID, then for ECDSA the domain
 * parameters (CVCA certificates only; 81 p, 82 a, 83 b, 84 G, 85 n, 87 h) and the point (86), for
 * RSA the modulus (81) and exponent (82).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeOid, oid as derOid, oidContent, seq, bitString } from '../der.ts';
import { curveByParams, cvCurves, type CvCurve } from './curves.ts';
import { CvcSyntaxError } from './errors.ts';
import { taAlgorithm, type TaAlgorithm } from './oids.ts';
import { byTag, cvChildren, cvTlv, cvValue, need, type CvTlv } from './tlv.ts';

export interface CvEcParams {
  p: Buffer;
  a: Buffer;
  b: Buffer;
  g: Buffer;
  n: Buffer;
  h?: Buffer;
}

export interface CvPublicKey {
  algorithm: TaAlgorithm;
  /** EC: the uncompressed point; absent for RSA. */
  point?: Buffer;
  /** EC: the explicit domain parameters when the key carries them (a CVCA's, a self-contained request). */
  params?: CvEcParams;
  /** RSA. */
  modulus?: Buffer;
  exponent?: Buffer;
}

export function decodeCvPublicKey(t: CvTlv, depth: number): CvPublicKey {
  const m = byTag(cvChildren(t, depth), 'public key');
  const oidTlv = need(m, 0x06, 'public key');
  const algOid = decodeOid(oidTlv.buf, oidTlv.start, oidTlv.end);
  const algorithm = taAlgorithm(algOid);
  if (!algorithm) throw new CvcSyntaxError(`public key: unknown algorithm ${algOid}`);
  const v = (tag: number) => (m.has(tag) ? Buffer.from(cvValue(m.get(tag)!)) : undefined);
  if (algorithm.kind !== 'ecdsa') {
    const modulus = v(0x81), exponent = v(0x82);
    if (!modulus || !exponent) throw new CvcSyntaxError('RSA public key: modulus and exponent required');
    return { algorithm, modulus, exponent };
  }
  const point = v(0x86);
  if (!point || point.length < 3 || point[0] !== 0x04) throw new CvcSyntaxError('EC public key: uncompressed point (86) required');
  const [p, a, b, g, n, h] = [0x81, 0x82, 0x83, 0x84, 0x85, 0x87].map(v);
  const given = [p, a, b, g, n].filter(Boolean).length;
  if (given !== 0 && given !== 5) throw new CvcSyntaxError('EC public key: domain parameters incomplete');
  return { algorithm, point, params: p && a && b && g && n ? { p, a, b, g, n, h } : undefined };
}

/** Encodes the 7F49 object; `withParams` puts the curve's domain parameters in (CVCA certificates, requests). */
export function encodeCvPublicKey(k: CvPublicKey): Buffer {
  const parts: Buffer[] = [cvTlv(0x06, oidContent(k.algorithm.oid))];
  if (k.algorithm.kind === 'ecdsa') {
    const pr = k.params;
    if (pr) parts.push(cvTlv(0x81, pr.p), cvTlv(0x82, pr.a), cvTlv(0x83, pr.b), cvTlv(0x84, pr.g), cvTlv(0x85, pr.n));
    parts.push(cvTlv(0x86, k.point!));
    if (pr?.h) parts.push(cvTlv(0x87, pr.h));
  } else {
    parts.push(cvTlv(0x81, k.modulus!), cvTlv(0x82, k.exponent!));
  }
  return cvTlv(0x7f49, ...parts);
}

/** The explicit parameters of a named curve, as a CVCA certificate carries them. */
export function curveParams(c: CvCurve): CvEcParams {
  const u = (hex: string) => Buffer.from(hex.replace(/^(00)+(?=..)/, ''), 'hex');
  return { p: u(c.p), a: u(c.a), b: u(c.b), g: Buffer.from(c.g, 'hex'), n: u(c.n), h: u(c.h) };
}

/** The known curve the key's own parameters name; throws for parameters Certgate does not support. */
export function curveOfParams(params: CvEcParams): CvCurve {
  const c = curveByParams(params);
  if (!c) throw new CvcSyntaxError('EC public key: domain parameters of an unsupported curve');
  return c;
}

/**
 * A node:crypto public key for a CV key. EC keys without parameters take them from `domain`
 * (the CVCA's curve: TR-03110-3 D.3.3, DV and terminal certificates inherit them).
 */
export function cvKeyObject(k: CvPublicKey, domain?: CvCurve): KeyObject {
  if (k.algorithm.kind !== 'ecdsa') {
    const b64 = (b: Buffer) => b.toString('base64url');
    return createPublicKey({ key: { kty: 'RSA', n: b64(k.modulus!), e: b64(k.exponent!) }, format: 'jwk' });
  }
  const curve = k.params ? curveOfParams(k.params) : domain;
  if (!curve) throw new CvcSyntaxError('EC public key: no domain parameters known for this key');
  if (k.point!.length !== 1 + 2 * curve.size) throw new CvcSyntaxError('EC public key: point of the wrong size for the curve');
  const spki = seq(seq(derOid('1.2.840.10045.2.1'), derOid(curve.oid)), bitString(k.point!));
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new CvcSyntaxError('EC public key: the point is not on the curve');
  }
}

/** The CV public key of a node:crypto key (EC on a supported curve, or RSA). */
export function cvPublicKeyOf(key: KeyObject, algorithm: TaAlgorithm, withParams: boolean): CvPublicKey {
  if (key.asymmetricKeyType === 'rsa') {
    const jwk = key.export({ format: 'jwk' });
    return { algorithm, modulus: Buffer.from(jwk.n!, 'base64url'), exponent: Buffer.from(jwk.e!, 'base64url') };
  }
  const curve = curveOfKey(key);
  // node's JWK export refuses brainpool curves; the SPKI's BIT STRING ends with the uncompressed point.
  const spki = key.export({ format: 'der', type: 'spki' });
  const point = Buffer.from(spki.subarray(spki.length - (1 + 2 * curve.size)));
  return { algorithm, point, params: withParams ? curveParams(curve) : undefined };
}

export function curveOfKey(key: KeyObject): CvCurve {
  const nc = key.asymmetricKeyDetails?.namedCurve;
  const name = nc === 'prime256v1' ? 'P-256' : nc === 'secp384r1' ? 'P-384' : nc === 'secp521r1' ? 'P-521' : nc;
  const c = name ? cvCurves[name as keyof typeof cvCurves] : undefined;
  if (!c) throw new CvcSyntaxError(`unsupported key curve ${nc}`);
  return c;
}

/** Building CV certificate requests in tests (Certgate's encoder; OpenPACE has no request tool). */
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { buildCvRequest, curveParams, cvCurves, cvPublicKeyOf, taAlgorithmFor, type CvCurveName, type CvSigner } from '../../src/pki/cvc/index.ts';

export interface TestKey {
  privateKey: KeyObject;
  signer: CvSigner;
  curve: CvCurveName;
}

export function newKey(curve: CvCurveName = 'brainpoolP256r1'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const hash = cvCurves[curve].hash;
  return { privateKey, curve, signer: { publicKey, sign: (d) => nodeSign(hash, d, privateKey) } };
}

/** A request for `key` as `chr`; the key's domain parameters included (as DVs send them). */
export async function request(o: { chr: string; key: TestKey; car?: string; outer?: { car: string; key: TestKey }; params?: boolean }): Promise<Buffer> {
  const pub = o.key.signer.publicKey;
  const pk = cvPublicKeyOf(pub, taAlgorithmFor(pub), false);
  if (o.params !== false) pk.params = curveParams(cvCurves[o.key.curve]);
  const r = await buildCvRequest({ profileId: 0, car: o.car, chr: o.chr, publicKey: pk }, o.key.signer, o.outer ? { car: o.outer.car, signer: o.outer.key.signer } : undefined);
  return r.der;
}

export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64');

/** Flips a bit `from` bytes before the end (inside the last signature). */
export function flip(der: Buffer, from = 5): Buffer {
  const b = Buffer.from(der);
  b[b.length - from] ^= 0x01;
  return b;
}

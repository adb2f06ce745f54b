/**
 * Finding, generating and describing key objects on a token. Private keys are generated
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not CKA_EXTRACTABLE: they never leave the token, in
 * the clear or wrapped. The public half is kept as a token object beside it (same CKA_ID and
 * label) so the key can be described without the private key's attributes.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { BadRequest } from '../../issuance/errors.ts';
import type { KeySpec } from '../../issuance/request.ts';
import type { Pkcs11Uri } from './uri.ts';
import type { Session } from './token.ts';

type P11 = InstanceType<typeof pkcs11js.PKCS11>;

/** DER OIDs of the curves as CKA_EC_PARAMS holds them. */
export const curveParams = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
} as const;

export function findObjects(p11: P11, session: Session, template: pkcs11js.Template, max = 100): Buffer[] {
  p11.C_FindObjectsInit(session, template);
  try {
    return p11.C_FindObjects(session, max);
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

function uriTemplate(uri: Pkcs11Uri, cls: number): pkcs11js.Template {
  const t: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
  if (uri.object !== undefined) t.push({ type: pkcs11js.CKA_LABEL, value: uri.object });
  if (uri.id !== undefined) t.push({ type: pkcs11js.CKA_ID, value: uri.id });
  return t;
}

/** The one private key the URI names; undefined when none, an error when several. */
export function findPrivateKey(p11: P11, session: Session, uri: Pkcs11Uri): Buffer | undefined {
  const found = findObjects(p11, session, uriTemplate(uri, pkcs11js.CKO_PRIVATE_KEY), 2);
  if (found.length > 1) throw new BadRequest('the PKCS#11 URI names more than one private key: add id= or a more specific object=');
  return found[0];
}

/** The key's public half: from its public key object, else (RSA) from the private key's public attributes. */
export function publicKeyOf(p11: P11, session: Session, uri: Pkcs11Uri, privateKey: Buffer): KeyObject {
  const [pub] = findObjects(p11, session, uriTemplate(uri, pkcs11js.CKO_PUBLIC_KEY), 1);
  const [{ value: keyType }] = p11.C_GetAttributeValue(session, privateKey, [{ type: pkcs11js.CKA_KEY_TYPE }]);
  const kt = (keyType as Buffer).readUInt32LE(0);
  if (kt === pkcs11js.CKK_RSA) {
    const [n, e] = p11.C_GetAttributeValue(session, pub ?? privateKey, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    return createPublicKey({ key: { kty: 'RSA', n: b64u(n.value as Buffer), e: b64u(e.value as Buffer) }, format: 'jwk' });
  }
  if (kt === pkcs11js.CKK_EC) {
    if (!pub) throw new BadRequest('the EC key has no public key object beside it on the token (same label/id)');
    const [params, point] = p11.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]);
    return ecPublicKey(params.value as Buffer, point.value as Buffer);
  }
  throw new BadRequest('only RSA and EC keys on the token can sign for Certgate');
}

function ecPublicKey(params: Buffer, pointAttr: Buffer): KeyObject {
  const crv = params.equals(curveParams['P-256']) ? 'P-256' : params.equals(curveParams['P-384']) ? 'P-384' : undefined;
  if (!crv) throw new BadRequest('only EC keys on P-256 or P-384 can sign for Certgate');
  const size = crv === 'P-256' ? 32 : 48;
  // CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); some modules give the bare point.
  let point = pointAttr;
  if (point.length !== 2 * size + 1 && point[0] === 0x04) point = point.subarray(point[1] & 0x80 ? 2 + (point[1] & 0x7f) : 2);
  if (point.length !== 2 * size + 1 || point[0] !== 0x04) throw new BadRequest('the token returned an EC point Certgate cannot read');
  return createPublicKey({ key: { kty: 'EC', crv, x: b64u(point.subarray(1, 1 + size)), y: b64u(point.subarray(1 + size)) }, format: 'jwk' });
}

const b64u = (b: Buffer) => b.toString('base64url');

/** Generates a non-extractable key pair on the token; returns the CKA_ID chosen. */
export function generateKeyPair(p11: P11, session: Session, spec: KeySpec, label: string): Buffer {
  const id = randomBytes(16);
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
  const priv: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
  ];
  const pub: pkcs11js.Template = [...common, { type: pkcs11js.CKA_PRIVATE, value: false }, { type: pkcs11js.CKA_VERIFY, value: true }];
  if (spec.type === 'EC') {
    if (!(spec.curve in curveParams)) throw new BadRequest(`PKCS#11 keys: EC P-256 or P-384, not ${spec.curve}`);
    pub.push({ type: pkcs11js.CKA_EC_PARAMS, value: curveParams[spec.curve as keyof typeof curveParams] });
    p11.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, pub, priv);
  } else if (spec.type === 'RSA') {
    if (spec.bits < 2048 || spec.bits > 4096) throw new BadRequest('PKCS#11 RSA keys: 2048-4096 bits');
    priv.push({ type: pkcs11js.CKA_DECRYPT, value: true });
    pub.push({ type: pkcs11js.CKA_ENCRYPT, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: spec.bits }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
    p11.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
  } else {
    throw new BadRequest('PKCS#11 keys: EC P-256/P-384 or RSA (Ed25519 is not offered on tokens)');
  }
  return id;
}

export interface TokenKeyInfo {
  label: string;
  id: Buffer;
  keyType: 'RSA' | 'EC' | string;
  sensitive: boolean;
  extractable: boolean;
}

/** Every private key on the token, with the attributes that show it cannot leave. */
export function listPrivateKeys(p11: P11, session: Session): TokenKeyInfo[] {
  return findObjects(p11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }], 1000).map((h) => {
    const [label, id, kt, sens, ext] = p11.C_GetAttributeValue(session, h, [
      { type: pkcs11js.CKA_LABEL },
      { type: pkcs11js.CKA_ID },
      { type: pkcs11js.CKA_KEY_TYPE },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
    ]);
    const k = (kt.value as Buffer).readUInt32LE(0);
    return {
      label: (label.value as Buffer).toString('utf8'),
      id: id.value as Buffer,
      keyType: k === pkcs11js.CKK_RSA ? 'RSA' : k === pkcs11js.CKK_EC ? 'EC' : `0x${k.toString(16)}`,
      sensitive: (sens.value as Buffer)[0] === 1,
      extractable: (ext.value as Buffer)[0] === 1,
    };
  });
}

/**
 * Creating and importing issuers, with the checks every caller needs (parent active and allowed to
 * sign CAs, path length, names free, key matches the certificate, certificate signed by the
 * parent), and the CRL options of an issuer. Used by the admin API and, through the protocol seam,
 * by protocols that manage CAs on an operator's behalf (emCA V5 CA Management).
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { z } from 'zod';
import type { issuerCreateSchema, issuerImportSchema } from '../admin/openapi.ts';
import { BadRequest, Conflict, conflictOnDuplicate } from '../issuance/errors.ts';
import { parseCertificate } from '../pki/certificate.ts';
import { children, decodeInteger, readTlv, Tag } from '../pki/der.ts';
import { decodeName, formatName, parseDn, toEncodedAttributes, type EncodedAttribute } from '../pki/name.ts';
import { ext as extOid } from '../pki/oids.ts';
import { fromPem } from '../pki/pem.ts';
import type { Issuer, IssuerOptions } from './issuer.ts';
import { keySpecFor } from './keys.ts';
import type { IssuerRegistry } from './registry.ts';

export type IssuerCreateBody = z.infer<typeof issuerCreateSchema>;
export type IssuerImportBody = z.infer<typeof issuerImportSchema>;
/** The CRL settings an operator may change. */
export type CrlOptions = Pick<IssuerOptions, 'crlValidityHours' | 'deltaCrlHours' | 'crlPartitions'>;


/** pathLenConstraint of a CA certificate, or undefined when it has none. */
export function pathLengthOf(der: Uint8Array): number | undefined {
  const bc = parseCertificate(der).extensions.find((e) => e.oid === extOid.basicConstraints);
  if (!bc) return undefined;
  const v = bc.value;
  const s = readTlv(v, 0);
  for (const t of children(v, s.start, s.end)) if (t.tag === Tag.INTEGER) return Number(decodeInteger(v, t.start, t.end));
  return undefined;
}

export async function assertIssuerFree(issuers: IssuerRegistry, id: string, name: string): Promise<void> {
  if (await issuers.get(id)) throw new Conflict(`issuer "${id}" already exists`);
  if (issuers.list().some((i) => i.name === name)) throw new Conflict(`an issuer named "${name}" already exists`);
}

/** A new issuer (root, or subordinate of `parentId`) with a freshly generated key. */
export async function createIssuerChecked(issuers: IssuerRegistry, b: IssuerCreateBody): Promise<Issuer> {
  await assertIssuerFree(issuers, b.id, b.name);
  let pathLength = b.pathLength;
  if (b.parentId) {
    const parent = await issuers.get(b.parentId);
    if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
    if (parent.status !== 'active') throw new Conflict(`parent issuer "${parent.id}" is retired`);
    const max = pathLengthOf(parent.certDer);
    if (max === 0) throw new BadRequest(`parentId: issuer "${parent.id}" has pathLength 0 and cannot sign CA certificates`, 'parentId');
    if (max !== undefined) {
      if (pathLength !== undefined && pathLength >= max) throw new BadRequest(`pathLength: must be less than the parent's pathLength ${max}`, 'pathLength');
      pathLength ??= max - 1;
    }
  }
  let subject: EncodedAttribute[] | undefined;
  if (b.subject) {
    try {
      subject = toEncodedAttributes(parseDn(b.subject));
    } catch (e) {
      throw new BadRequest(`subject: ${(e as Error).message}`, 'subject');
    }
  }
  return conflictOnDuplicate(
    () =>
      issuers.create({
        id: b.id,
        name: b.name,
        subject,
        key: keySpecFor(b.keyType),
        keyStore: b.keyStore,
        keyRef: b.keyRef,
        parentId: b.parentId,
        validityDays: b.validityDays,
        pathLength,
        isDefault: b.default ?? false,
        ...(b.signatureScheme === 'rsa-pss' ? { options: { signatureScheme: 'rsa-pss' as const } } : {}),
      }),
    `issuer "${b.id}" (or its name) already exists`,
  );
}

/** An existing CA certificate and its key (PEM); the key is kept sealed, never returned. */
export async function importIssuerChecked(issuers: IssuerRegistry, b: IssuerImportBody): Promise<Issuer> {
  const notPem = new BadRequest('certificatePem: not a PEM X.509 certificate', 'certificatePem');
  let der: Buffer | undefined;
  let parsed;
  try {
    der = fromPem(b.certificatePem, 'CERTIFICATE')[0];
    parsed = der ? parseCertificate(der) : undefined;
  } catch {
    throw notPem;
  }
  if (!der || !parsed) throw notPem;
  if (!parsed.isCa) throw new BadRequest('certificatePem: not a CA certificate (basicConstraints cA is not true)', 'certificatePem');
  let key: KeyObject;
  try {
    // Never echo the parser's message: it must not hint at the key's content.
    key = createPrivateKey({ key: b.privateKeyPem, format: 'pem' });
  } catch {
    throw new BadRequest('privateKeyPem: not an unencrypted PEM private key', 'privateKeyPem');
  }
  if (!createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(Buffer.from(parsed.spki))) {
    throw new BadRequest('privateKeyPem: the private key does not match the certificate', 'privateKeyPem');
  }
  if (b.parentId) {
    const parent = await issuers.get(b.parentId);
    if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
    if (!new X509Certificate(der).verify(parent.signer.publicKey)) throw new BadRequest(`certificatePem: not signed by issuer "${parent.id}"`, 'certificatePem');
  }
  await assertIssuerFree(issuers, b.id, b.name ?? formatName(decodeName(parsed.subject)));
  // Imported without the default flag, then made default: importIssuer would leave two defaults.
  const imported = await conflictOnDuplicate(
    () => issuers.importIssuer({ id: b.id, name: b.name, certDer: der, privateKey: key, parentId: b.parentId }),
    `issuer "${b.id}" (or its name) already exists`,
  );
  if (!b.default) return imported;
  await issuers.setDefault(imported.id);
  return (await issuers.get(imported.id)) ?? imported;
}

/** The CRL settings of an issuer as stored (unset = the server's defaults). */
export function crlOptionsOf(i: Issuer): CrlOptions {
  const o = i.options;
  return Object.fromEntries((['crlValidityHours', 'deltaCrlHours', 'crlPartitions'] as const).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

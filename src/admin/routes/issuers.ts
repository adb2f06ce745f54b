/** Issuers: list, read, create (root or subordinate), import (certificate and key), change options and the default. */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Hono } from 'hono';
import { issuerUrls, type Issuer } from '../../ca/issuer.ts';
import { keySpecFor } from '../../ca/keys.ts';
import type { Context } from '../../context.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { BadRequest, Conflict } from '../../issuance/errors.ts';
import { parseCertificate } from '../../pki/certificate.ts';
import { children, decodeInteger, readTlv, Tag } from '../../pki/der.ts';
import { decodeName, formatName, parseDn, toEncodedAttributes, type EncodedAttribute } from '../../pki/name.ts';
import { ext as extOid } from '../../pki/oids.ts';
import { fromPem, toPem } from '../../pki/pem.ts';
import { issuerCreateSchema, issuerImportSchema, issuerPatchSchema } from '../openapi.ts';
import { conflictOnDuplicate, readBody, type AdminKit, type C } from './kit.ts';

export function mountIssuers(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit, requireIssuer } = k;

  api.get('/issuers', need('auditor', 'list issuers'), async (c) => {
    await ctx.issuers.load();
    return c.json(ctx.issuers.list().map((i) => issuerJson(ctx, i)));
  });

  api.get('/issuers/:id', need('auditor', 'read issuers'), async (c) => c.json(issuerJson(ctx, await requireIssuer(c.req.param('id')), true)));

  api.post('/issuers', need('administrator', 'create issuers'), (c) => createIssuer(k, c));

  api.post('/issuers/import', need('administrator', 'import issuers'), (c) => importIssuer(k, c));

  api.patch('/issuers/:id', need('administrator', 'change issuers'), async (c) => {
    const issuer = await requireIssuer(c.req.param('id'));
    const b = await readBody(c, issuerPatchSchema);
    const { default: makeDefault, ...opts } = b;
    if (Object.keys(b).length === 0) throw new BadRequest('body: nothing to change (crlValidityHours, deltaCrlHours, crlPartitions, default)');
    if (makeDefault && issuer.status !== 'active') throw new Conflict(`issuer "${issuer.id}" is retired and cannot be the default`);
    if (Object.keys(opts).length) await ctx.issuers.updateOptions(issuer.id, { ...issuer.options, ...opts });
    if (makeDefault) await ctx.issuers.setDefault(issuer.id);
    await audit(c, 'issuer.update', issuer.id, b);
    return c.json(issuerJson(ctx, await requireIssuer(issuer.id), true));
  });
}

/** pathLenConstraint of a CA certificate, or undefined when it has none. */
async function createIssuer(k: AdminKit, c: C) {
  const { ctx, audit } = k;
  const b = await readBody(c, issuerCreateSchema);
  await assertIssuerFree(ctx, b.id, b.name);
  let pathLength = b.pathLength;
  if (b.parentId) {
    const parent = await ctx.issuers.get(b.parentId);
    if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
    if (parent.status !== 'active') throw new Conflict(`parent issuer "${parent.id}" is retired`);
    const max = pathLengthOf(parent.certDer);
    if (max === 0) throw new BadRequest(`parentId: issuer "${parent.id}" has pathLength 0 and cannot sign CA certificates`, 'parentId');
    if (max !== undefined) {
      if (pathLength !== undefined && pathLength >= max) {
        throw new BadRequest(`pathLength: must be less than the parent's pathLength ${max}`, 'pathLength');
      }
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
  const created = await conflictOnDuplicate(
    () =>
      ctx.issuers.create({
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
  await audit(c, 'issuer.create', created.id, {
    parentId: b.parentId ?? null,
    keyType: created.signer.keyAlgorithm,
    keyStore: b.keyRef ? 'pkcs11' : b.keyStore,
    keyRef: created.keyRef,
    signatureScheme: b.signatureScheme ?? 'pkcs1',
    validityDays: b.validityDays,
    pathLength,
    default: created.isDefault,
    fingerprintSha256: fingerprint(created.certDer),
  });
  return c.json(issuerJson(ctx, created, true), 201);
}

async function importIssuer(k: AdminKit, c: C) {
  const { ctx, audit, requireIssuer } = k;
  const b = await readBody(c, issuerImportSchema);
  let der: Buffer;
  let parsed;
  try {
    const blocks = fromPem(b.certificatePem, 'CERTIFICATE');
    if (blocks.length === 0) throw new Error('no block');
    der = blocks[0];
    parsed = parseCertificate(der);
  } catch {
    throw new BadRequest('certificatePem: not a PEM X.509 certificate', 'certificatePem');
  }
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
  const x509 = new X509Certificate(der);
  if (b.parentId) {
    const parent = await ctx.issuers.get(b.parentId);
    if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
    if (!x509.verify(parent.signer.publicKey)) {
      throw new BadRequest(`certificatePem: not signed by issuer "${parent.id}"`, 'certificatePem');
    }
  }
  await assertIssuerFree(ctx, b.id, b.name ?? formatName(decodeName(parsed.subject)));
  // Imported without the default flag, then made default: importIssuer would leave two defaults.
  let imported = await conflictOnDuplicate(
    () => ctx.issuers.importIssuer({ id: b.id, name: b.name, certDer: der, privateKey: key, parentId: b.parentId }),
    `issuer "${b.id}" (or its name) already exists`,
  );
  if (b.default) {
    await ctx.issuers.setDefault(imported.id);
    imported = await requireIssuer(imported.id);
  }
  await audit(c, 'issuer.import', imported.id, { parentId: b.parentId ?? null, subject: imported.subject, fingerprintSha256: fingerprint(der), default: imported.isDefault });
  return c.json(issuerJson(ctx, imported, true), 201);
}

function issuerJson(ctx: Context, i: Issuer, detail = false) {
  return {
  id: i.id,
  name: i.name,
  parentId: i.parentId,
  subject: i.subject,
  keyAlgorithm: i.signer.keyAlgorithm,
  // Where the key is, and for an HSM key its URI, with its public half: the key ceremony's record.
  keyStore: /^pkcs11:/i.test(i.keyRef) ? 'pkcs11' : 'software',
  ...(/^pkcs11:/i.test(i.keyRef) ? { keyRef: i.keyRef } : {}),
  publicKeyPem: i.signer.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  notBefore: i.notBefore,
  notAfter: i.notAfter,
  status: i.status,
  isDefault: i.isDefault,
  isRoot: i.isRoot,
  pathLength: pathLengthOf(i.certDer) ?? null,
  // Only the documented CRL settings: `ocsp` may hold responder material.
  options: pick(i.options as Record<string, unknown>, ['crlValidityHours', 'deltaCrlHours', 'crlPartitions', 'signatureScheme']),
  fingerprintSha256: fingerprint(i.certDer),
  urls: issuerUrls(ctx.config.publicUrl, i.id),
  certificatePem: toPem(i.certDer, 'CERTIFICATE'),
  ...(detail ? { chainPem: i.chain.map((d) => toPem(d, 'CERTIFICATE')).join('') } : {}),
};
}

async function assertIssuerFree(ctx: Context, id: string, name: string) {
  if (await ctx.issuers.get(id)) throw new Conflict(`issuer "${id}" already exists`);
  if (ctx.issuers.list().some((i) => i.name === name)) throw new Conflict(`an issuer named "${name}" already exists`);
}

function pathLengthOf(der: Uint8Array): number | undefined {
  const bc = parseCertificate(der).extensions.find((e) => e.oid === extOid.basicConstraints);
  if (!bc) return undefined;
  const v = bc.value;
  const s = readTlv(v, 0);
  for (const t of children(v, s.start, s.end)) if (t.tag === Tag.INTEGER) return Number(decodeInteger(v, t.start, t.end));
  return undefined;
}

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

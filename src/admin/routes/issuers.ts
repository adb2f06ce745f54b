/** Issuers: list, read, create (root or subordinate), import (certificate and key), change options and the default. */
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { issuerUrls, type Issuer } from '../../ca/issuer.ts';
import { createIssuerChecked, importIssuerChecked, pathLengthOf } from '../../ca/issuer-admin.ts';
import type { Context } from '../../context.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { BadRequest, Conflict } from '../../issuance/errors.ts';
import { toPem } from '../../pki/pem.ts';
import { issuerCreateSchema, issuerImportSchema, issuerPatchSchema } from '../openapi.ts';
import { readBody, type AdminKit, type C } from './kit.ts';

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
    const { successorId, ...crl } = opts;
    if (Object.keys(b).length === 0) throw new BadRequest('body: nothing to change (crlValidityHours, deltaCrlHours, crlPartitions, default, successorId)');
    if (makeDefault && issuer.status !== 'active') throw new Conflict(`issuer "${issuer.id}" is retired and cannot be the default`);
    if (successorId) await checkSuccessor(k, issuer, successorId);
    const options = { ...issuer.options, ...crl };
    if (successorId !== undefined) {
      if (successorId === null) delete options.successorId;
      else options.successorId = successorId;
    }
    if (Object.keys(opts).length) await ctx.issuers.updateOptions(issuer.id, options);
    if (makeDefault) await ctx.issuers.setDefault(issuer.id);
    await audit(c, 'issuer.update', issuer.id, b);
    return c.json(issuerJson(ctx, await requireIssuer(issuer.id), true));
  });
}

/** A successor must be another active issuer with a key of its own (a rollover changes the key). */
async function checkSuccessor(k: AdminKit, issuer: Issuer, successorId: string): Promise<void> {
  const next = await k.ctx.issuers.get(successorId);
  if (!next) throw new BadRequest(`successorId: no issuer "${successorId}"`, 'successorId');
  if (next.id === issuer.id) throw new BadRequest('successorId: an issuer cannot succeed itself', 'successorId');
  if (next.status !== 'active') throw new Conflict(`issuer "${next.id}" is retired and cannot take over`);
  if (next.spki.equals(issuer.spki)) throw new BadRequest(`successorId: issuer "${next.id}" has the same key; a rollover needs a new one`, 'successorId');
}

async function createIssuer(k: AdminKit, c: C) {
  const { ctx, audit } = k;
  const b = await readBody(c, issuerCreateSchema);
  const created = await createIssuerChecked(ctx.issuers, b);
  const pathLength = pathLengthOf(created.certDer);
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
  const { ctx, audit } = k;
  const b = await readBody(c, issuerImportSchema);
  const imported = await importIssuerChecked(ctx.issuers, b);
  await audit(c, 'issuer.import', imported.id, { parentId: b.parentId ?? null, subject: imported.subject, fingerprintSha256: fingerprint(imported.certDer), default: imported.isDefault });
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
  successorId: i.options.successorId ?? null,
  fingerprintSha256: fingerprint(i.certDer),
  urls: issuerUrls(ctx.config.publicUrl, i.id),
  certificatePem: toPem(i.certDer, 'CERTIFICATE'),
  ...(detail ? { chainPem: i.chain.map((d) => toPem(d, 'CERTIFICATE')).join('') } : {}),
};
}

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

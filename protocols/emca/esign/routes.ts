/**
 * eSign under the emCA V5 API (the V5 token middleware of v5.ts authenticates every call and sets
 * the caller), plus the operator channel for one-time codes on the admin router.
 *
 *   POST /emca/v5/esign/signers                     {signerId, subject, keyAlgorithm?, email?, validity?}
 *   GET  /emca/v5/esign/signers/{signerId}
 *   POST /emca/v5/esign/requests                    {signerId, hash, hashAlgorithm} | {signerId, document}
 *   POST /emca/v5/esign/requests/{id}/confirm       {code} → CMS (base64) or signed PDF (base64)
 *
 *   GET  /api/v1/emca/esign/requests                (officer) pending requests
 *   POST /api/v1/emca/esign/requests/{id}/code      (officer) the code, once, to pass on to the signer
 */
import { createHash } from 'node:crypto';
import type { Context as HonoContext, Hono } from 'hono';
import { isDatabaseUnavailable, DATABASE_RETRY_AFTER } from '../../../src/db/unavailable.ts';
import { readJsonBody } from '../../../src/http/body.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../../src/protocol-context.ts';
import { decodeB64 } from '../fields.ts';
import { EmcaFailure, M } from '../messages.ts';
import type { Caller } from '../service.ts';
import { E, type EsignService, type SubmitInput } from './service.ts';
import { hashName } from './sign.ts';
import type { SignerStore } from './signers.ts';

type Env = AppEnv & { Variables: AppEnv['Variables'] & { emcaCaller?: Caller } };

const statusFor: Record<string, 400 | 401 | 404 | 409 | 410 | 423 | 429> = {
  [M.invalidRequestDetails]: 401,
  [M.notFound]: 404,
  [E.done]: 409,
  [E.signerInactive]: 409,
  [E.expired]: 410,
  [E.locked]: 423,
  [E.wrongCode]: 401,
  [E.tooMany]: 429,
};

function fail(c: HonoContext, e: unknown, ctx: ProtocolContext) {
  if (e instanceof EmcaFailure) return c.json({ status: 'failure', result: e.result }, e.status !== 200 ? e.status : (statusFor[e.result] ?? 400));
  if (isDatabaseUnavailable(e)) {
    c.header('Retry-After', String(DATABASE_RETRY_AFTER));
    return c.json({ status: 'failure', result: M.internal }, 503);
  }
  ctx.log.error({ err: e }, 'emca esign: unhandled error');
  return c.json({ status: 'failure', result: M.internal }, 500);
}

async function body(c: HonoContext): Promise<Record<string, unknown>> {
  let b: unknown;
  try {
    b = await readJsonBody(c);
  } catch (e) {
    if ((e as { rule?: string }).rule === 'input.body.size') throw new EmcaFailure(E.documentTooLarge, 413);
    throw new EmcaFailure(M.invalidParameter);
  }
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new EmcaFailure(M.invalidParameter);
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k.toLowerCase(), v]));
}

const str = (b: Record<string, unknown>, k: string): string => {
  const v = b[k.toLowerCase()];
  if (typeof v !== 'string' || !v.trim()) throw new EmcaFailure(M.invalidParameter);
  return v.trim();
};
const optStr = (b: Record<string, unknown>, k: string): string | undefined => {
  const v = b[k.toLowerCase()];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new EmcaFailure(M.invalidParameter);
  return v.trim() || undefined;
};

/** The document hash as hex or base64 (the length is checked against the algorithm later). */
function digestOf(v: string): Buffer {
  if (/^[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0 && [64, 96, 128].includes(v.length)) return Buffer.from(v, 'hex');
  const d = decodeB64(v);
  if (!d) throw new EmcaFailure(E.invalidHash);
  return d;
}

/** UTF-8 (an optional BOM), no NUL, and markup first: enough to refuse a document that is not XML. */
function looksLikeXml(doc: Buffer): boolean {
  const text = doc.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('<') && !text.includes('\u0000') && !text.includes('\uFFFD');
}

function submitInput(b: Record<string, unknown>): SubmitInput {
  const signerId = str(b, 'signerId');
  if (b['document'] !== undefined) {
    const type = (optStr(b, 'documentType') ?? 'pdf').toLowerCase();
    if (type !== 'pdf' && type !== 'xml') throw new EmcaFailure(E.invalidDocument);
    const document = decodeB64(str(b, 'document'));
    if (!document) throw new EmcaFailure(E.invalidDocument);
    if (type === 'pdf') return { kind: 'pdf', signerId, document };
    // XML: a detached CMS over the document's exact bytes (no XAdES: nothing here could check one).
    if (!looksLikeXml(document)) throw new EmcaFailure(E.invalidXml);
    const hash = hashName(b['hashalgorithm'] ?? 'SHA-256');
    if (!hash) throw new EmcaFailure(E.invalidHash);
    return { kind: 'hash', signerId, hash, digest: createHash(hash).update(document).digest() };
  }
  const hash = hashName(b['hashalgorithm'] ?? 'SHA-256');
  if (!hash) throw new EmcaFailure(E.invalidHash);
  return { kind: 'hash', signerId, hash, digest: digestOf(str(b, 'hash')) };
}

export function mountEsign(app: Hono<AppEnv>, ctx: ProtocolContext, signers: SignerStore, esign: EsignService): void {
  const v5 = app as unknown as Hono<Env>;
  const route = (fn: (c: HonoContext<Env>, caller: Caller) => Promise<Response>) => async (c: HonoContext<Env>) => {
    try {
      const caller = c.get('emcaCaller');
      if (!caller) throw new EmcaFailure(M.invalidRequestDetails);
      return await fn(c, caller);
    } catch (e) {
      return fail(c, e, ctx);
    }
  };

  v5.post(
    '/emca/v5/esign/signers',
    route(async (c, caller) => {
      const b = await body(c);
      const r = await signers.register(caller, {
        signerId: str(b, 'signerId'),
        subject: str(b, 'subject'),
        keyAlgorithm: optStr(b, 'keyAlgorithm'),
        email: optStr(b, 'email'),
        validity: optStr(b, 'validity'),
      });
      return c.json({ status: 'success', ...(await signers.view(r.row)) }, r.created ? 201 : 200);
    }),
  );
  v5.get(
    '/emca/v5/esign/signers/:signerId',
    route(async (c, caller) => {
      const row = await signers.find(caller, c.req.param('signerId')!);
      if (!row) throw new EmcaFailure(E.unknownSigner, 404);
      return c.json({ status: 'success', ...(await signers.view(row)) });
    }),
  );
  v5.post(
    '/emca/v5/esign/requests',
    route(async (c, caller) => {
      const r = await esign.submit(caller, submitInput(await body(c)));
      return c.json({ status: 'pending', requestId: r.requestId, expiresAt: r.expiresAt.toISOString(), codeChannel: r.channel }, 202);
    }),
  );
  v5.post(
    '/emca/v5/esign/requests/:id/confirm',
    route(async (c, caller) => {
      const b = await body(c);
      const code = b['code'];
      if (typeof code !== 'string' && typeof code !== 'number') throw new EmcaFailure(M.invalidParameter);
      const s = await esign.confirm(caller, c.req.param('id')!, String(code).trim());
      const common = { status: 'success', requestId: c.req.param('id'), serialNumber: s.serial.replace(/^(00)+/, ''), signedAt: s.signedAt.toISOString() };
      if (s.kind === 'cms') return c.json({ ...common, format: 'cms', signature: s.signature.toString('base64') });
      return c.json({ ...common, format: 'pades', document: s.document.toString('base64') });
    }),
  );

  mountEsignAdmin(ctx, esign);
}

function mountEsignAdmin(ctx: ProtocolContext, esign: EsignService): void {
  const admin = ctx.adminRouter();
  const officer = ctx.http.requireRole('officer');
  admin.get('/esign/requests', officer, async (c) => c.json({ requests: await esign.pending() }));
  admin.post('/esign/requests/:id/code', officer, async (c) => {
    const op = c.get('operator')!;
    const r = await esign.codeForOperator(c.req.param('id'));
    if (!r) return c.json({ error: 'NotFound', message: 'no pending request with an unread code' }, 404);
    await ctx.audit.record({ actor: `operator:${op.name}`, action: 'emca.esign.code-read', target: c.req.param('id'), details: { signerId: r.signerId } });
    c.header('Cache-Control', 'no-store');
    return c.json({ requestId: c.req.param('id'), signerId: r.signerId, code: r.code, expiresAt: r.expiresAt.toISOString() });
  });
}

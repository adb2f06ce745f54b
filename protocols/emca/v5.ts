/**
 * emCA REST API V5 (Certificate Management), plain JSON under `/emca/v5`.
 *
 *   POST /emca/v5/auth/token   {username, password, clientId, validityInMins} → JWT (HS256)
 *
 * Every other call carries the JWT as `X-Emca-Api-Key: <jwt>` or `Authorization: Bearer <jwt>`
 * (the documents name both) and must come from an allowed address. No CMS signatures and no AES
 * envelope: the token stands for the client (TLS protects the transport).
 */
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { hkdfSync } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Context as HonoContext, Hono } from 'hono';
import { SignJWT, jwtVerify } from 'jose';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { ProtocolAppEnv as AppEnv } from '../../src/protocol-context.ts';
import { toPem } from '../../src/pki/pem.ts';
import { buildCertsOnly } from '../../src/pki/cms-signed-data.ts';
import type { ClientStore } from './clients.ts';
import { ipAllowed, type PasswordCache } from './crypto.ts';
import { EmcaFailure, M } from './messages.ts';
import { emcaClients, emcaNonces, type EmcaClientRow } from './schema.ts';
import {
  checkCsr,
  csrFromContent,
  parsePkcs12Content,
  validityFrom,
} from './fields.ts';
import { principalFor, type Caller, type EmcaService, type IssueOutcome } from './service.ts';
import { peerAddress } from './v4.ts';
import { readJsonBody } from '../../src/http/body.ts';
import { adminErrorFor, isIssuanceError } from '../../src/issuance/errors.ts';

export interface V5Deps {
  ctx: ProtocolContext;
  svc: EmcaService;
  clients: ClientStore;
  passwords: PasswordCache;
  tokenMaxMinutes: number;
}

const ISSUER = 'certgate';
const AUDIENCE = 'certgate-emca-v5';

export type V5Env = AppEnv & { Variables: AppEnv['Variables'] & { emcaCaller?: Caller } };

const statusFor: Record<string, 400 | 401 | 403 | 404 | 409> = {
  [M.notFound]: 404,
  [M.invalidRequestId]: 404,
  [M.invalidRequestDetails]: 401,
  [M.alreadyRevoked]: 409,
  [M.notActive]: 409,
  [M.notSuspended]: 409,
};

export function fail(c: HonoContext, e: unknown, ctx: ProtocolContext) {
  // A refusal of the core (CA and OCSP management through the seam): its status and message.
  if (isIssuanceError(e)) return c.json({ status: 'failure', result: e.message }, adminErrorFor[e.code].status);
  if (e instanceof EmcaFailure) {
    const status = e.status !== 200 ? e.status : (statusFor[e.result] ?? 400);
    return c.json({ status: 'failure', result: e.result }, status);
  }
  if (isDatabaseUnavailable(e)) {
    ctx.log.warn('emca v5: database unavailable');
    c.header('Retry-After', String(DATABASE_RETRY_AFTER));
    // The spec has no result string for it: the internal one, with the status saying "later".
    return c.json({ status: 'failure', result: M.internal }, 503);
  }
  ctx.log.error({ err: e }, 'emca v5: unhandled error');
  return c.json({ status: 'failure', result: M.internal }, 500);
}

function outcomeJson(o: IssueOutcome, extra: Record<string, unknown> = {}) {
  if (o.kind === 'issued') {
    const clamp = o.clamped ? { validityClamped: o.clamped } : {};
    return { status: 'success', result: o.artefact, serialNumber: o.serial.replace(/^(00)+/, ''), issuerId: o.issuerId, requestId: null, ...clamp, ...extra };
  }
  if (o.kind === 'pending') return { status: 'pending', result: M.pending, requestId: o.requestId, ...extra };
  return { status: 'failure', result: M.rejected, requestId: o.requestId, ...extra };
}

export async function json(c: HonoContext): Promise<Record<string, unknown>> {
  try {
    const b = await readJsonBody(c);
    if (b && typeof b === 'object' && !Array.isArray(b)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(b)) out[k.toLowerCase()] = v;
      return out;
    }
  } catch {
    /* fall through */
  }
  throw new EmcaFailure(M.invalidParameter);
}

export const str = (b: Record<string, unknown>, k: string): string => {
  const v = b[k.toLowerCase()];
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || !v.trim()) throw new EmcaFailure(M.invalidParameter);
  return v.trim();
};
export const optStr = (b: Record<string, unknown>, k: string): string | undefined => {
  const v = b[k.toLowerCase()];
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
};

export function mountV5(app: Hono<AppEnv>, d: V5Deps): void {
  const { ctx, svc } = d;
  // Every instance derives the same token MAC key from the KEK (through the seam, never the KEK itself).
  const secret = new Uint8Array(ctx.secrets.derive('emca-v5-jwt', 32));
  const v5 = app as unknown as Hono<V5Env>;

  /** X-Nonce: optional; a value seen in the last five minutes is refused (replay). */
  async function checkNonce(c: HonoContext): Promise<void> {
    const n = c.req.header('x-nonce');
    if (n === undefined) return;
    if (!/^[A-Za-z0-9._~+/=-]{8,128}$/.test(n)) throw new EmcaFailure(M.invalidParameter);
    await ctx.store.db.delete(emcaNonces).where(lt(emcaNonces.expiresAt, new Date()));
    const r = await ctx.store.db.insert(emcaNonces).values({ nonce: n, expiresAt: new Date(Date.now() + 300_000) }).onConflictDoNothing().returning();
    if (r.length === 0) throw new EmcaFailure(M.invalidRequestDetails);
  }

  v5.post('/emca/v5/auth/token', async (c) => {
    try {
      const b = await json(c);
      const username = str(b, 'username');
      const password = str(b, 'password');
      const clientId = optStr(b, 'clientId');
      const minutes = Number(b['validityinmins'] ?? 60);
      if (!Number.isInteger(minutes) || minutes <= 0 || minutes > d.tokenMaxMinutes) throw new EmcaFailure(M.invalidParameter);
      const client = await d.clients.byUserName(username);
      if (!client || client.disabled) throw new EmcaFailure(M.invalidRequestDetails);
      if (clientId && clientId !== client.id && clientId !== client.userName) throw new EmcaFailure(M.invalidRequestDetails);
      if (!(await d.passwords.verify(client.id, client.passwordHash, password))) throw new EmcaFailure(M.invalidRequestDetails);
      if (!ipAllowed(peerAddress(c, ctx.config.trustedProxies), client.allowedIps)) throw new EmcaFailure(M.invalidRequestDetails);
      await checkNonce(c);
      const exp = Math.floor(Date.now() / 1000) + minutes * 60;
      const token = await new SignJWT({ userName: client.userName })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(client.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(secret);
      c.header('Cache-Control', 'no-store');
      return c.json({ status: 'success', token, tokenType: 'Bearer', expiresIn: minutes * 60, expiresAt: new Date(exp * 1000).toISOString() });
    } catch (e) {
      return fail(c, e, ctx);
    }
  });

  // Authentication of every other V5 call.
  v5.use('/emca/v5/*', async (c, next) => {
    if (c.req.path === '/emca/v5/auth/token') return next();
    try {
      const h = c.req.header('x-emca-api-key') ?? /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (!h) throw new EmcaFailure(M.invalidRequestDetails);
      let sub: string | undefined;
      try {
        const { payload } = await jwtVerify(h, secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
        sub = payload.sub;
      } catch {
        throw new EmcaFailure(M.invalidRequestDetails);
      }
      const [client] = sub ? await ctx.store.db.select().from(emcaClients).where(and(eq(emcaClients.id, sub), eq(emcaClients.disabled, false))) : [];
      if (!client) throw new EmcaFailure(M.invalidRequestDetails);
      if (!ipAllowed(peerAddress(c, ctx.config.trustedProxies), client.allowedIps)) throw new EmcaFailure(M.invalidRequestDetails);
      await checkNonce(c);
      c.set('emcaCaller', { client: client as EmcaClientRow, principal: principalFor(client as EmcaClientRow, 'bearer-token') });
    } catch (e) {
      return fail(c, e, ctx);
    }
    await next();
  });

  const route = (fn: (c: HonoContext<V5Env>, caller: Caller) => Promise<Response>) => async (c: HonoContext<V5Env>) => {
    try {
      return await fn(c, c.get('emcaCaller')!);
    } catch (e) {
      return fail(c, e, ctx);
    }
  };

  const profileOf = async (b: Record<string, unknown>) =>
    b['profileid'] !== undefined
      ? { profile: await svc.profileById(b['profileid']), by: 'id' as const, profileRef: String(b['profileid']).trim() }
      : { profile: str(b, 'profileName'), by: 'name' as const, profileRef: str(b, 'profileName') };

  // createCertificates
  v5.post(
    '/emca/v5/certificates',
    route(async (c, caller) => {
      const b = await json(c);
      const { profile, by, profileRef } = await profileOf(b);
      const csr = checkCsr(csrFromContent(str(b, 'csr')));
      const format = (optStr(b, 'format') ?? 'cer').toLowerCase() === 'p7b' ? 'p7b' : 'cer';
      const o = await svc.issue(caller, {
        profile,
        profileBy: by,
        profileRef,
        key: { kind: 'csr', der: csr },
        validity: validityFrom(b['validity'], b['validfrom']),
        applicationId: str(b, 'applicationId'),
        subscriberId: optStr(b, 'subscriberId'),
        format,
      });
      return c.json(outcomeJson(o), o.kind === 'issued' ? (o.replayed ? 200 : 201) : o.kind === 'pending' ? 202 : 409);
    }),
  );

  // createKeyStore: server-generated key in a PKCS#12.
  v5.post(
    '/emca/v5/keystores',
    route(async (c, caller) => {
      const b = await json(c);
      const { profile, by, profileRef } = await profileOf(b);
      let parsed;
      if (typeof b['content'] === 'string') parsed = parsePkcs12Content(b['content']);
      else {
        const subject = str(b, 'subject');
        // Verbatim: spaces are part of a password (the V4 rule, fields.ts splitPkcs12Content).
        const password = b['password'];
        if (typeof password !== 'string' || password === '') throw new EmcaFailure(M.invalidParameter);
        parsed = parsePkcs12Content(`${subject.split(',').map((s) => s.trim()).join('~')}~KeyAlogirthmAndSize=${str(b, 'keyAlgorithm')}~Password=${password}`);
      }
      const o = await svc.issue(caller, {
        profile,
        profileBy: by,
        profileRef,
        key: { kind: 'generate', spec: parsed.key },
        subject: parsed.subject,
        sans: parsed.sans,
        validity: validityFrom(b['validity'], b['validfrom']),
        applicationId: str(b, 'applicationId'),
        subscriberId: optStr(b, 'subscriberId'),
        format: 'pfx',
        pfxPassword: parsed.password,
      });
      return c.json(outcomeJson(o), o.kind === 'issued' ? (o.replayed ? 200 : 201) : o.kind === 'pending' ? 202 : 409);
    }),
  );

  v5.get(
    '/emca/v5/certificates/:serial',
    route(async (c, caller) => {
      const row = await svc.ownCertificate(caller, c.req.param('serial')!);
      return c.json({
        status: 'success',
        serialNumber: row.serial.replace(/^(00)+/, ''),
        issuerId: row.issuerId,
        subject: row.subject,
        profile: row.profile,
        state: row.status === 'hold' ? 'suspended' : row.status === 'valid' ? (row.notAfter.getTime() < Date.now() ? 'expired' : 'active') : 'revoked',
        notBefore: row.notBefore.toISOString(),
        notAfter: row.notAfter.toISOString(),
        certificate: Buffer.from(row.der).toString('base64'),
      });
    }),
  );

  v5.get(
    '/emca/v5/certificates/:serial/chain',
    route(async (c, caller) => {
      const row = await svc.ownCertificate(caller, c.req.param('serial')!);
      const chain = await svc.chainFor(row.issuerId);
      const all = [Buffer.from(row.der), ...chain];
      return c.json({ status: 'success', p7b: buildCertsOnly(all).toString('base64'), pem: all.map((d) => toPem(d, 'CERTIFICATE')).join('') });
    }),
  );

  v5.post(
    '/emca/v5/certificates/:serial/revoke',
    route(async (c, caller) => {
      const b = await json(c).catch(() => ({}) as Record<string, unknown>);
      const raw = b['revokemode'] ?? 0;
      const mode = typeof raw === 'number' ? raw : /^\d{1,2}$/.test(String(raw)) ? Number(raw) : -1;
      if (![0, 1, 2, 3, 4, 5, 9, 10].includes(mode)) throw new EmcaFailure(M.invalidRevokeMode);
      await svc.revoke(caller, c.req.param('serial')!, mode);
      return c.json({ status: 'success', result: M.revoked });
    }),
  );
  v5.post(
    '/emca/v5/certificates/:serial/suspend',
    route(async (c, caller) => {
      await svc.suspend(caller, c.req.param('serial')!);
      return c.json({ status: 'success', result: M.suspended });
    }),
  );
  v5.post(
    '/emca/v5/certificates/:serial/reinstate',
    route(async (c, caller) => {
      await svc.reinstate(caller, c.req.param('serial')!);
      return c.json({ status: 'success', result: M.reinstated });
    }),
  );
  v5.post(
    '/emca/v5/certificates/:serial/rekey',
    route(async (c, caller) => {
      const b = await json(c);
      const old = await svc.ownCertificate(caller, c.req.param('serial')!);
      if (old.status === 'revoked') throw new EmcaFailure(M.alreadyRevoked);
      const csr = checkCsr(csrFromContent(str(b, 'csr')));
      const { subject, sans } = svc.subjectOf(old.der);
      const o = await svc.issue(caller, {
        profile: old.profile,
        profileBy: 'name',
        key: { kind: 'csr', der: csr },
        subject,
        sans,
        validity: validityFrom(b['validity'], b['validfrom']),
        applicationId: str(b, 'applicationId'),
        format: 'cer',
        replaces: { serial: old.serial, issuerId: old.issuerId },
      });
      return c.json(outcomeJson(o), o.kind === 'issued' ? (o.replayed ? 200 : 201) : o.kind === 'pending' ? 202 : 409);
    }),
  );

  v5.get(
    '/emca/v5/requests/:id',
    route(async (c, caller) => {
      const r = await svc.byRequestId(caller, c.req.param('id')!);
      if (r.state === 'pending') return c.json({ status: 'pending', result: M.pending, requestId: c.req.param('id') });
      if (r.state === 'rejected') return c.json({ status: 'failure', result: M.rejected, requestId: c.req.param('id') });
      return c.json({ status: 'success', result: r.artefact, requestId: c.req.param('id') });
    }),
  );

  v5.get(
    '/emca/v5/profiles',
    route(async (c, caller) => {
      const ids = await svc.profileIds();
      const out: Record<string, unknown>[] = [];
      for (const name of ids.keys()) {
        const p = await svc.profileVisible(caller, name);
        if (p && !p.basicConstraints.ca) out.push(await svc.profileInfo(caller, name));
      }
      return c.json({ status: 'success', profiles: out });
    }),
  );
  v5.get(
    '/emca/v5/profiles/:name',
    route(async (c, caller) => {
      const ref = c.req.param('name')!;
      const name = /^\d+$/.test(ref) ? await svc.profileById(ref) : ref;
      return c.json({ status: 'success', profile: await svc.profileInfo(caller, name, /^\d+$/.test(ref) ? 'id' : 'name', ref) });
    }),
  );
  v5.get(
    '/emca/v5/cas',
    route(async (c) => {
      const cas = ctx.issuers.list().map((i) => ({
        id: i.id,
        name: i.name,
        subject: i.subject,
        isRoot: i.isRoot,
        isDefault: i.isDefault,
        status: i.status,
        notBefore: i.notBefore.toISOString(),
        notAfter: i.notAfter.toISOString(),
        certificate: i.certDer.toString('base64'),
      }));
      return c.json({ status: 'success', cas });
    }),
  );
  v5.post(
    '/emca/v5/verify',
    route(async (c) => {
      const b = await json(c);
      await svc.verifyAnySignature(str(b, 'signature'));
      return c.json({ status: 'success', result: M.verified });
    }),
  );
}

/**
 * The ACME web front end (RFC 8555 §7): directory, nonces, accounts, orders, authorizations,
 * challenges, finalize, certificates, revocation, key change and renewal information. Every
 * answer carries a fresh Replay-Nonce and the directory link; every error is a problem document.
 */
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { createPublicKey } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Context as HonoContext, Hono } from 'hono';
import { flattenedVerify, type JWK } from 'jose';
import type { Logger } from 'pino';
import { clientAddress } from '../../src/http/client-address.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { keyIdentifier } from '../../src/pki/extensions.ts';
import { toPem } from '../../src/pki/pem.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import { certId, parseCertId, renewalWindow } from './ari.ts';
import { checkCsr, type IssuanceRunner } from './finalize.ts';
import { HOLDER_REASONS, holdsAuthorizationsFor } from './revocation.ts';
import { authenticate, checkAccount, decodeHeader, keyFromJwk, checkAlg, parseFlattened, preverify, staleNonce, thumbprint, verifySignature, type AccountRow, type Verified } from './jws.ts';
import type { ExtraRead, NonceService } from './nonce.ts';
import {
  authzJson,
  challengeJson,
  buildOrder,
  createOrder,
  createOrderCtes,
  effectiveAuthzStatus,
  effectiveOrderStatus,
  isId,
  loadAuthzs,
  makeUrls,
  newId,
  orderJson,
  ORDER_STORED,
  storedOrder,
  orderExtra,
  orderFromJson,
  authzExtra,
  challengeExtra,
  markProcessing,
  readChallenge,
  authzFromJson,
  parseIdentifiers,
  type NewOrderInput,
  type OrderRow,
  type Urls,
} from './orders.ts';
import { AcmeProblem, fromIssuanceError, problem } from './problems.ts';
import { acmeAccounts, acmeEabKeys, acmeOrders, acmeRateLimits } from './schema.ts';
import type { AcmeSettings } from './settings.ts';
import type { Validator } from './validation/index.ts';
import { waitAtMost } from './wait.ts';
import { parseClientJson, readRawBody } from '../../src/http/body.ts';

type C = HonoContext<AppEnv>;

export interface AcmeDeps {
  ctx: ProtocolContext;
  settings: AcmeSettings;
  nonces: NonceService;
  validator: Validator;
  runner: IssuanceRunner;
  log: Logger;
}

const JOSE = 'application/jose+json';
const EAB_ALGS = ['HS256', 'HS384', 'HS512'];
/** RFC 5280 reasons a subscriber may give (no certificateHold, no removeFromCRL). */
const REVOCATION_REASONS = new Set([0, 1, 2, 3, 4, 5, 9, 10]);

export function mountAcme(app: Hono<AppEnv>, d: AcmeDeps): void {
  const { ctx, settings, nonces } = d;
  const db = ctx.store.db;

  const baseOf = (c: C) => settings.baseUrl ?? new URL(c.req.url).origin;
  // URL builders per base (bounded: the base may come from the Host header).
  const urlsByBase = new Map<string, Urls>();
  const urlsOf = (c: C): Urls => {
    const base = baseOf(c);
    let u = urlsByBase.get(base);
    if (!u) {
      u = makeUrls(base);
      if (urlsByBase.size < 16) urlsByBase.set(base, u);
    }
    return u;
  };
  const requestUrl = (c: C) => `${baseOf(c)}${new URL(c.req.url).pathname}`;

  const clientIp = (c: C): string => clientAddress(c, ctx.config.trustedProxies);

  /** Link headers are appended (the index link is already there); the rest set. */
  const withLinks = (c: C, headers: Record<string, string>) => {
    const { Link, ...rest } = headers;
    if (Link) c.header('Link', Link, { append: true });
    return rest;
  };
  const send = (c: C, status: number, body: unknown, headers: Record<string, string> = {}) =>
    c.body(JSON.stringify(body), status as 200, { 'Content-Type': 'application/json', ...withLinks(c, headers) });

  const renderError = (c: C, e: unknown) => {
    let p: AcmeProblem;
    if (e instanceof AcmeProblem) p = e;
    else if (isIssuanceError(e)) p = fromIssuanceError(e);
    else if (isDatabaseUnavailable(e)) {
      d.log.warn({ reqId: c.get('requestId') }, 'acme: database unavailable');
      p = new AcmeProblem('serverInternal', 'the database is unavailable; retry later', { status: 503, headers: { 'Retry-After': String(DATABASE_RETRY_AFTER) } });
    } else {
      d.log.error({ err: e, reqId: c.get('requestId') }, 'acme: unexpected error');
      p = problem('serverInternal', `internal error (request ${c.get('requestId') ?? '-'})`);
    }
    return c.body(JSON.stringify(p.toJSON()), p.status as 400, { 'Content-Type': 'application/problem+json', ...withLinks(c, p.headers) });
  };

  const h = (fn: (c: C) => Promise<Response>) => async (c: C) => {
    try {
      return await fn(c);
    } catch (e) {
      return renderError(c, e);
    }
  };

  /** The body of a JWS POST (Content-Type checked). */
  const bodyText = async (c: C): Promise<string> => {
    const ct = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (ct !== JOSE) throw problem('malformed', `Content-Type must be ${JOSE}`, { status: 415 });
    // An upload the client abandoned is its own mistake (BadRequest → malformed), not a server error.
    return new TextDecoder().decode(await readRawBody(c));
  };

  /** Reads and authenticates the JWS body of a POST. */
  const auth = async (c: C, key: 'jwk' | 'kid' | 'either', extra?: ExtraRead): Promise<Verified> => {
    const body = await bodyText(c);
    return authenticate(body, { key, url: requestUrl(c), accountUrlPrefix: `${urlsOf(c).base}/acct/`, nonces, extra });
  };

  const rateLimit = async (key: string, limit: number, what: string) => {
    if (!limit) return;
    const w = Math.floor(Date.now() / 1000 / settings.rateWindow);
    const [r] = await db
      .insert(acmeRateLimits)
      .values({ key, window: w, count: 1 })
      .onConflictDoUpdate({ target: [acmeRateLimits.key, acmeRateLimits.window], set: { count: sql`${acmeRateLimits.count} + 1` } })
      .returning({ count: acmeRateLimits.count });
    if (r.count > limit) throw rateLimited(limit, what, w);
  };

  const rateLimited = (limit: number, what: string, window: number) => {
    const retry = Math.max(1, Math.ceil((window + 1) * settings.rateWindow - Date.now() / 1000));
    return problem('rateLimited', `too many ${what}: at most ${limit} per ${settings.rateWindow} s; retry after ${retry} s`, {
      headers: { 'Retry-After': String(retry) },
    });
  };

  const accountJson = (a: AccountRow, urls: Urls) => ({
    status: a.status,
    contact: a.contact,
    termsOfServiceAgreed: a.termsAgreed,
    orders: `${urls.account(a.id)}/orders`,
    createdAt: a.createdAt.toISOString(),
  });

  // ── cross-cutting headers ──────────────────────────────────────────────────────────────────
  // Set before the handler runs, so they are part of the response it builds: touching
  // c.res.headers afterwards would make @hono/node-server build a full Response (slow path).
  app.use('/acme/*', async (c, next) => {
    c.header('Replay-Nonce', nonces.issue());
    c.header('Cache-Control', 'no-store');
    c.header('Link', `<${urlsOf(c).base}/directory>;rel="index"`, { append: true });
    await next();
  });

  // ── directory and nonces ───────────────────────────────────────────────────────────────────
  let profileDescriptions: { at: number; map: Record<string, string> } | undefined;
  const profilesMeta = async () => {
    if (profileDescriptions && Date.now() - profileDescriptions.at < 60_000) return profileDescriptions.map;
    const map: Record<string, string> = {};
    for (const [name, target] of Object.entries(settings.profiles)) {
      const p = await ctx.profiles.get(target);
      if (p && p.enabled !== false && p.audience !== 'system') map[name] = p.description ?? target;
    }
    profileDescriptions = { at: Date.now(), map };
    return map;
  };

  app.get(
    '/acme/directory',
    h(async (c) => {
      const u = urlsOf(c).base;
      const meta: Record<string, unknown> = { externalAccountRequired: settings.eabRequired, profiles: await profilesMeta() };
      if (settings.termsOfService) meta.termsOfService = settings.termsOfService;
      if (settings.website) meta.website = settings.website;
      if (settings.caaIdentities.length) meta.caaIdentities = settings.caaIdentities;
      return send(c, 200, {
        newNonce: `${u}/new-nonce`,
        newAccount: `${u}/new-account`,
        newOrder: `${u}/new-order`,
        revokeCert: `${u}/revoke-cert`,
        keyChange: `${u}/key-change`,
        renewalInfo: `${u}/renewal-info`,
        meta,
      });
    }),
  );

  // HEAD: 200 with an explicit zero length (what GET's 204 carries), so that clients keep the
  // connection: without a length, node's http client closes it after the answer.
  app.get('/acme/new-nonce', (c) => (c.req.method === 'HEAD' ? c.body(null, 200, { 'Content-Length': '0' }) : c.body(null, 204)));

  // ── accounts ───────────────────────────────────────────────────────────────────────────────
  app.post(
    '/acme/new-account',
    h(async (c) => {
      const v = await auth(c, 'jwk');
      const urls = urlsOf(c);
      const body = (v.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw problem('malformed', 'the newAccount payload must be a JSON object');
      const tp = await thumbprint(v.jwk!);
      const [existing] = await db.select().from(acmeAccounts).where(eq(acmeAccounts.thumbprint, tp));
      if (existing) return send(c, 200, accountJson(existing, urls), { Location: urls.account(existing.id) });
      if (body.onlyReturnExisting === true) throw problem('accountDoesNotExist', 'no account exists with this key');
      const contact = parseContact(body.contact);
      if (settings.termsOfService && body.termsOfServiceAgreed !== true) {
        throw problem('userActionRequired', `agree to the terms of service (${settings.termsOfService}) with "termsOfServiceAgreed": true`, {
          headers: { Link: `<${settings.termsOfService}>;rel="terms-of-service"` },
        });
      }
      let eabKid: string | undefined;
      if (body.externalAccountBinding !== undefined) eabKid = await verifyEab(body.externalAccountBinding, tp, requestUrl(c));
      else if (settings.eabRequired) throw problem('externalAccountRequired', 'this server requires an external account binding (RFC 8555 §7.3.4)');
      await rateLimit(`acct-ip:${clientIp(c)}`, settings.rateAccountsPerIp, 'new accounts from this address');
      const id = newId();
      const row = {
        id,
        jwk: v.jwk!,
        thumbprint: tp,
        status: 'valid',
        contact,
        termsAgreed: body.termsOfServiceAgreed === true,
        eabKid: eabKid ?? null,
        createdIp: clientIp(c),
      };
      const created = await db.transaction(async (tx) => {
        const [a] = await tx.insert(acmeAccounts).values(row).onConflictDoNothing().returning();
        if (!a) return undefined;
        if (eabKid) {
          const bound = await tx
            .update(acmeEabKeys)
            .set({ accountId: id })
            .where(and(eq(acmeEabKeys.kid, eabKid), sql`${acmeEabKeys.accountId} is null`))
            .returning({ kid: acmeEabKeys.kid });
          if (!bound.length) throw problem('unauthorized', 'the external account binding key is already bound to an account');
        }
        return a;
      });
      if (!created) {
        const [raced] = await db.select().from(acmeAccounts).where(eq(acmeAccounts.thumbprint, tp));
        return send(c, 200, accountJson(raced, urls), { Location: urls.account(raced.id) });
      }
      await ctx.audit.record({ actor: `acme:account:${id}`, action: 'acme.account.create', target: id, details: { eabKid, ip: clientIp(c) } });
      return send(c, 201, accountJson(created, urls), { Location: urls.account(id) });
    }),
  );

  const verifyEab = async (eab: unknown, outerThumbprint: string, url: string): Promise<string> => {
    const jws = parseFlattened(eab);
    const header = decodeHeader(jws);
    if (!EAB_ALGS.includes(header.alg)) throw problem('badSignatureAlgorithm', `the external account binding must use ${EAB_ALGS.join(', ')}`, { algorithms: EAB_ALGS });
    if (header.nonce !== undefined) throw problem('malformed', 'the external account binding must not carry a nonce');
    if (header.url !== url) throw problem('unauthorized', 'the external account binding "url" is not the newAccount URL');
    if (typeof header.kid !== 'string' || !header.kid) throw problem('malformed', 'the external account binding has no "kid"');
    const [k] = await db.select().from(acmeEabKeys).where(eq(acmeEabKeys.kid, header.kid.slice(0, 200)));
    if (!k || k.disabled) throw problem('unauthorized', 'unknown external account binding key id');
    if (k.accountId) throw problem('unauthorized', 'the external account binding key is already bound to an account');
    const secret = ctx.secrets.unseal(`acme-eab:${k.kid}`, k.hmacKeySealed);
    let payload: Uint8Array;
    try {
      payload = (await flattenedVerify(jws, new Uint8Array(secret), { algorithms: [header.alg] })).payload;
    } catch {
      throw problem('unauthorized', 'the external account binding MAC does not verify');
    }
    let inner: unknown;
    try {
      inner = parseClientJson(Buffer.from(payload).toString('utf8'));
    } catch {
      throw problem('malformed', 'the external account binding payload is not a JWK');
    }
    let tp: string;
    try {
      const alg = (inner as JWK).kty === 'RSA' ? 'RS256' : (inner as JWK).kty === 'OKP' ? 'EdDSA' : ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as unknown as Record<string, 'ES256'>)[(inner as JWK).crv ?? ''] ?? 'ES256';
      tp = await thumbprint(keyFromJwk(inner, alg).jwk);
    } catch {
      throw problem('malformed', 'the external account binding payload is not a valid public JWK');
    }
    if (tp !== outerThumbprint) throw problem('unauthorized', 'the external account binding is for another key');
    return k.kid;
  };

  /** The account a kid-signed request names in its URL must be the signer. */
  const ownAccount = (v: Verified, id: string): AccountRow => {
    if (!v.account || v.account.id !== id) throw problem('unauthorized', 'the request is signed by another account');
    return v.account;
  };

  app.post(
    '/acme/acct/:id',
    h(async (c) => {
      const v = await auth(c, 'kid');
      const urls = urlsOf(c);
      let account = ownAccount(v, (c.req.param('id') ?? ''));
      const body = v.body as Record<string, unknown> | undefined;
      if (body && typeof body === 'object') {
        const set: Partial<typeof acmeAccounts.$inferInsert> = {};
        if (body.status !== undefined) {
          if (body.status !== 'deactivated') throw problem('malformed', 'an account can only be updated to status "deactivated"');
          set.status = 'deactivated';
        }
        if (body.contact !== undefined) set.contact = parseContact(body.contact);
        if (body.termsOfServiceAgreed === true) set.termsAgreed = true;
        if (Object.keys(set).length) {
          [account] = await db.update(acmeAccounts).set(set).where(eq(acmeAccounts.id, account.id)).returning();
          nonces.forgetAccount(account.id);
          if (set.status) {
            await db.update(acmeOrders).set({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'the account was deactivated', status: 403 } }).where(and(eq(acmeOrders.accountId, account.id), sql`${acmeOrders.status} in ('pending','ready')`));
            await ctx.audit.record({ actor: `acme:account:${account.id}`, action: 'acme.account.deactivate', target: account.id });
          }
        }
      }
      return send(c, 200, accountJson(account, urls), { Location: urls.account(account.id) });
    }),
  );

  app.post(
    '/acme/acct/:id/orders',
    h(async (c) => {
      const v = await auth(c, 'kid');
      const urls = urlsOf(c);
      const account = ownAccount(v, (c.req.param('id') ?? ''));
      const rows = await db
        .select({ id: acmeOrders.id, status: acmeOrders.status, expires: acmeOrders.expires })
        .from(acmeOrders)
        .where(eq(acmeOrders.accountId, account.id))
        .orderBy(desc(acmeOrders.createdAt))
        .limit(1000);
      const live = rows.filter((o) => ['pending', 'ready', 'processing', 'valid'].includes(effectiveOrderStatus(o)));
      return send(c, 200, { orders: live.map((o) => urls.order(o.id)) });
    }),
  );

  app.post(
    '/acme/key-change',
    h(async (c) => {
      const v = await auth(c, 'kid');
      const urls = urlsOf(c);
      const account = v.account!;
      const inner = parseFlattened(v.body);
      const ih = decodeHeader(inner);
      const alg = checkAlg(ih.alg);
      if (ih.kid !== undefined || ih.jwk === undefined) throw problem('malformed', 'the inner JWS of a key change must carry "jwk" (the new key) and no "kid"');
      if (ih.nonce !== undefined) throw problem('malformed', 'the inner JWS of a key change must not carry a nonce');
      if (ih.url !== v.header.url) throw problem('malformed', 'the inner JWS "url" must equal the outer one');
      const { key: newKey, jwk: newJwk } = keyFromJwk(ih.jwk, alg);
      const payload = verifySignature(inner, newKey, alg);
      let kc: { account?: unknown; oldKey?: unknown };
      try {
        kc = parseClientJson(payload.toString('utf8')) as typeof kc;
      } catch {
        throw problem('malformed', 'the key change payload is not JSON');
      }
      if (kc.account !== urls.account(account.id)) throw problem('unauthorized', 'the key change names another account');
      let oldTp: string;
      try {
        oldTp = await thumbprint(kc.oldKey as JWK);
      } catch {
        throw problem('malformed', 'the key change "oldKey" is not a JWK');
      }
      if (oldTp !== account.thumbprint) throw problem('unauthorized', 'the key change "oldKey" is not the current account key');
      const newTp = await thumbprint(newJwk);
      const conflict = async () => {
        const [other] = await db.select({ id: acmeAccounts.id }).from(acmeAccounts).where(eq(acmeAccounts.thumbprint, newTp));
        if (other) throw problem('malformed', 'the new key is already the key of an account', { status: 409, headers: { Location: urls.account(other.id) } });
      };
      await conflict();
      let updated: AccountRow | undefined;
      try {
        [updated] = await db.update(acmeAccounts).set({ jwk: newJwk, thumbprint: newTp }).where(and(eq(acmeAccounts.id, account.id), eq(acmeAccounts.thumbprint, account.thumbprint))).returning();
        nonces.forgetAccount(account.id);
      } catch {
        await conflict();
        throw problem('serverInternal', 'the key could not be changed; retry');
      }
      if (!updated) throw problem('malformed', 'the account key changed concurrently; retry', { status: 409 });
      await ctx.audit.record({ actor: `acme:account:${account.id}`, action: 'acme.account.key-change', target: account.id, details: { from: oldTp, to: newTp } });
      return send(c, 200, accountJson(updated, urls), { Location: urls.account(account.id) });
    }),
  );

  // ── orders ─────────────────────────────────────────────────────────────────────────────────
  const parseTime = (v: unknown, name: string): Date | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) throw problem('malformed', `"${name}" must be an RFC 3339 date-time`);
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw problem('malformed', `"${name}" is not a valid date-time`);
    return d;
  };

  /** A newOrder payload checked (identifiers, dates, profile), bar `replaces`. */
  const orderInput = async (payload: unknown, accountId: string): Promise<NewOrderInput & { body: Record<string, unknown> }> => {
    const body = payload as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw problem('malformed', 'the newOrder payload must be a JSON object');
    const identifiers = parseIdentifiers(body.identifiers, settings.maxIdentifiers);
    const notBefore = parseTime(body.notBefore, 'notBefore');
    const notAfter = parseTime(body.notAfter, 'notAfter');
    if (notBefore && notAfter && notAfter <= notBefore) throw problem('malformed', '"notAfter" must be later than "notBefore"');
    const profileName = body.profile === undefined ? settings.defaultProfile : body.profile;
    if (typeof profileName !== 'string' || !settings.profiles[profileName]) {
      throw problem('invalidProfile', `unknown profile "${String(profileName).slice(0, 50)}"; see the directory's meta.profiles`);
    }
    const certgateProfile = settings.profiles[profileName];
    const profile = await ctx.profiles.get(certgateProfile);
    // A system profile (OCSP signing, RA signers, CAs) is never an ACME client's; the pipeline refuses it too.
    if (!profile || profile.enabled === false || profile.audience === 'system') throw problem('invalidProfile', `profile "${profileName}" is not available`);
    // Refuse early what the profile would refuse at finalize.
    const refused = identifiers.filter((i) => {
      const rule = i.type === 'ip' ? profile.san.ip : profile.san.dns;
      return !rule.allowed || (i.value.startsWith('*.') && !rule.wildcard);
    });
    if (refused.length) {
      throw problem('rejectedIdentifier', `profile "${profileName}" does not allow ${refused.map((i) => `${i.type}:${i.value}`).join(', ')}`, {
        subproblems: refused.map((i) => ({ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: `not allowed by profile "${profileName}"`, identifier: i })),
      });
    }
    const reuseMinSeconds = settings.authzReuse ? settings.authzReuseMinSeconds : undefined;
    return { body, accountId, identifiers, notBefore, notAfter, profile: profileName, certgateProfile, lifetimeSeconds: settings.orderLifetime, reuseMinSeconds };
  };

  /** A rate limit counted in the statement of a write (counter CTE `cte`, see quickNewOrder). */
  interface FoldedLimit {
    cte: string;
    key: string;
    limit: number;
    what: string;
  }

  /**
   * newOrder in one statement: a request signed by an account whose key this process knows is
   * verified first; the statement that burns its nonce counts the order rate limits and inserts
   * the order, on condition that the account is still valid with that key and within its limits.
   * Undefined when the key is not known or the order `replaces` a certificate: the general path
   * then answers.
   */
  const quickNewOrder = async (c: C, text: string, urls: Urls): Promise<Response | undefined> => {
    const pre = preverify(text, { key: 'kid', url: requestUrl(c), accountUrlPrefix: `${urls.base}/acct/`, nonces });
    if (!pre) return undefined;
    if (pre.body && typeof pre.body === 'object' && 'replaces' in pre.body) return undefined;
    const input = await orderInput(pre.body, pre.accountId);
    const built = buildOrder(input);
    const reuse = input.reuseMinSeconds !== undefined;
    const limits: FoldedLimit[] = [];
    if (settings.rateOrdersPerAccount) limits.push({ cte: 'rl_acct', key: `order-acct:${pre.accountId}`, limit: settings.rateOrdersPerAccount, what: 'new orders for this account' });
    if (settings.rateOrdersPerIp) limits.push({ cte: 'rl_ip', key: `order-ip:${clientIp(c)}`, limit: settings.rateOrdersPerIp, what: 'new orders from this address' });
    const window = Math.floor(Date.now() / 1000 / settings.rateWindow);
    const base = built.params.length;
    const r = await nonces.redeemAndWrite(pre.nonce, pre.accountId, pre.thumbprint, {
      name: `new-order:${limits.map((l) => l.cte).join(',')}${reuse ? ':reuse' : ''}`,
      ctes: (gate, p) => {
        const counters = limits.map(
          (l, i) => `${l.cte} as (
            insert into acme_rate_limits (key, "window", count) select ${p(base + 2 * i + 1)}::text, ${p(base + 2 * i + 2)}::bigint, 1 where ${gate}
            on conflict (key, "window") do update set count = acme_rate_limits.count + 1 returning count)`,
        );
        const within = limits.map((l, i) => `(select count from ${l.cte}) <= ${p(base + 2 * limits.length + i + 1)}::int`);
        return [...counters, createOrderCtes([gate, ...within].join(' and '), p, reuse)].join(', ');
      },
      result: 'o',
      returns: [...(reuse ? [ORDER_STORED] : []), ...limits.map((l) => `(select count from ${l.cte}) as ${l.cte}`)].join(', ') || undefined,
      params: [...built.params, ...limits.flatMap((l) => [l.key, window]), ...limits.map((l) => l.limit)],
    });
    // The checks of the general path, in its order (authenticate, then the rate limits).
    const account = checkAccount(r.account, pre.header.kid, pre.alg);
    if (account.thumbprint !== pre.thumbprint) {
      // The key changed elsewhere: this request was signed with the account's old key.
      nonces.forgetAccount(pre.accountId);
      throw problem('malformed', 'JWS signature verification failed');
    }
    if (!r.fresh) throw staleNonce();
    for (const l of limits) if (Number(r.row[l.cte]) > l.limit) throw rateLimited(l.limit, l.what, window);
    if (!r.written) throw problem('serverInternal', 'the order could not be stored; retry');
    return send(c, 201, orderJson(storedOrder(built, r.row), urls), { Location: urls.order(built.order.id) });
  };

  app.post(
    '/acme/new-order',
    h(async (c) => {
      const urls = urlsOf(c);
      const text = await bodyText(c);
      const quick = await quickNewOrder(c, text, urls);
      if (quick) return quick;
      const v = await authenticate(text, { key: 'kid', url: requestUrl(c), accountUrlPrefix: `${urls.base}/acct/`, nonces });
      const account = v.account!;
      const input = await orderInput(v.body, account.id);
      const body = input.body;
      let replaces: string | undefined;
      if (body.replaces !== undefined) {
        const ref = typeof body.replaces === 'string' ? parseCertId(body.replaces) : undefined;
        if (!ref) throw problem('malformed', '"replaces" is not an RFC 9773 certificate identifier');
        const [old] = await ctx.certificates.bySerialAnyIssuer(ref.serial);
        if (!old) throw problem('malformed', '"replaces" names no certificate of this CA', { status: 404 });
        if (old.principalId !== `acme:account:${account.id}`) throw problem('unauthorized', '"replaces" names a certificate of another account');
        const [dup] = await db
          .select({ id: acmeOrders.id })
          .from(acmeOrders)
          .where(and(eq(acmeOrders.replaces, body.replaces as string), sql`${acmeOrders.status} <> 'invalid'`))
          .limit(1);
        if (dup) throw problem('alreadyReplaced', 'another order already replaces this certificate');
        replaces = body.replaces as string;
      }
      await rateLimit(`order-acct:${account.id}`, settings.rateOrdersPerAccount, 'new orders for this account');
      await rateLimit(`order-ip:${clientIp(c)}`, settings.rateOrdersPerIp, 'new orders from this address');
      const order = await createOrder(ctx.store, { ...input, replaces });
      return send(c, 201, orderJson(order, urls), { Location: urls.order(order.id) });
    }),
  );

  /** The order read with the authentication (v.extra), checked against the account. */
  const loadOrder = async (id: string, account: AccountRow, fromAuth?: unknown): Promise<OrderRow> => {
    const [o] = fromAuth ? [orderFromJson(fromAuth as Record<string, unknown>)] : isId(id) && fromAuth === undefined ? await db.select().from(acmeOrders).where(eq(acmeOrders.id, id)) : [];
    if (!o) throw problem('malformed', 'no such order', { status: 404 });
    if (o.accountId !== account.id) throw problem('unauthorized', 'the order belongs to another account');
    return o;
  };

  const retryAfter = () => ({ 'Retry-After': String(settings.retryAfter) });

  app.post(
    '/acme/order/:id',
    h(async (c) => {
      const id = c.req.param('id') ?? '';
      await d.runner.settle(id, settings.pollWaitMs);
      const v = await auth(c, 'kid', isId(id) ? orderExtra(id) : undefined);
      const urls = urlsOf(c);
      if (v.payload.length) throw problem('malformed', 'an order is read with POST-as-GET (empty payload)');
      const o = await loadOrder(id, v.account!, v.extra ?? null);
      return send(c, 200, orderJson(o, urls), o.status === 'processing' ? retryAfter() : {});
    }),
  );

  app.post(
    '/acme/order/:id/finalize',
    h(async (c) => {
      const id = c.req.param('id') ?? '';
      const v = await auth(c, 'kid', isId(id) ? orderExtra(id) : undefined);
      const urls = urlsOf(c);
      const account = v.account!;
      const o = await loadOrder(id, account, v.extra ?? null);
      const status = effectiveOrderStatus(o);
      if (status !== 'ready') {
        if (status === 'pending') {
          const authzs = await loadAuthzs(db, o.authzIds);
          const open = authzs.filter((a) => effectiveAuthzStatus(a) !== 'valid').map((a) => `${a.identifierType}:${a.identifierValue}`);
          throw problem('orderNotReady', `the order is pending: authorizations not yet valid for ${open.join(', ')}`);
        }
        throw problem('orderNotReady', `the order is ${status}, not ready`);
      }
      const body = v.body as { csr?: unknown } | undefined;
      if (!body || typeof body.csr !== 'string' || !/^[A-Za-z0-9_-]+$/.test(body.csr)) throw problem('malformed', 'finalize needs {"csr": base64url DER}');
      const csrDer = Buffer.from(body.csr, 'base64url');
      const csr = checkCsr(csrDer, o, v.key);
      // Issuance runs in the background; when it is done within the poll wait, the answer is the
      // valid order (no poll needed), else processing with Retry-After.
      const shown = await d.runner.finalize(o, csrDer, csr, settings.pollWaitMs);
      if (!shown) throw problem('orderNotReady', 'the order is no longer ready (finalized concurrently)');
      return send(c, 200, orderJson(shown, urls), { Location: urls.order(o.id), ...(shown.status === 'processing' ? retryAfter() : {}) });
    }),
  );

  // ── authorizations and challenges ──────────────────────────────────────────────────────────
  app.post(
    '/acme/authz/:id',
    h(async (c) => {
      const id = c.req.param('id') ?? '';
      await d.validator.settle(id, settings.pollWaitMs);
      const v = await auth(c, 'kid', isId(id) ? authzExtra(id) : undefined);
      const urls = urlsOf(c);
      const loaded = v.extra ? authzFromJson(v.extra as Parameters<typeof authzFromJson>[0]) : undefined;
      if (!loaded) throw problem('malformed', 'no such authorization', { status: 404 });
      if (loaded.authz.accountId !== v.account!.id) throw problem('unauthorized', 'the authorization belongs to another account');
      const body = v.body as Record<string, unknown> | undefined;
      if (body !== undefined) {
        if (body?.status !== 'deactivated') throw problem('malformed', 'an authorization can only be updated to status "deactivated"');
        const s = effectiveAuthzStatus(loaded.authz);
        if (s !== 'pending' && s !== 'valid') throw problem('malformed', `an authorization that is ${s} cannot be deactivated`);
        // Every pending or ready order naming it (its own, and others that reused it) becomes invalid.
        await db.execute(sql`
          with a as (update acme_authorizations set status = 'deactivated' where id = ${id} returning order_id)
          update acme_orders set status = 'invalid', error = ${JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'an authorization was deactivated', status: 403 })}::jsonb
          where account_id = ${loaded.authz.accountId} and ${id} = any(authz_ids) and status in ('pending', 'ready')`);
        loaded.authz.status = 'deactivated';
      }
      return send(c, 200, authzJson(loaded.authz, loaded.challenges, urls));
    }),
  );

  app.post(
    '/acme/chall/:id',
    h(async (c) => {
      const id = c.req.param('id') ?? '';
      const v = await auth(
        c,
        'kid',
        isId(id) ? challengeExtra(id) : undefined,
      );
      const urls = urlsOf(c);
      const got = v.extra ? authzFromJson(v.extra as Parameters<typeof authzFromJson>[0]) : undefined;
      const row = got ? { ch: got.challenges[0], authz: got.authz } : undefined;
      if (!row) throw problem('malformed', 'no such challenge', { status: 404 });
      const { ch, authz } = row;
      const loaded = { authz };
      if (authz.accountId !== v.account!.id) throw problem('unauthorized', 'the challenge belongs to another account');
      const up = { Link: `<${urls.authz(ch.authzId)}>;rel="up"` };
      if (v.body === undefined) return send(c, 200, challengeJson(ch, urls), up);
      if (typeof v.body !== 'object' || Array.isArray(v.body)) throw problem('malformed', 'a challenge response is a JSON object ({})');
      const authzStatus = effectiveAuthzStatus(loaded.authz);
      if (ch.status !== 'pending' || authzStatus !== 'pending') {
        if (ch.status === 'pending') throw problem('malformed', `the authorization is ${authzStatus}; this challenge can no longer be answered`);
        return send(c, 200, challengeJson(ch, urls), ch.status === 'processing' ? { ...up, ...retryAfter() } : up);
      }
      // Validation starts at once; a quick one is answered with its outcome (no poll needed) and
      // never stored as processing. One that outlasts the poll wait is marked processing, so
      // every instance shows it running, and answered with Retry-After.
      const running = d.validator.submit(authz, ch, v.account!.thumbprint);
      const outcome = await waitAtMost(running, settings.pollWaitMs);
      if (outcome) return send(c, 200, challengeJson(outcome, urls), up);
      const shown = (await markProcessing(ctx.store, ch.id)) ?? (await readChallenge(ctx.store, ch.id)) ?? ch;
      return send(c, 200, challengeJson(shown, urls), shown.status === 'processing' ? { ...up, ...retryAfter() } : up);
    }),
  );

  // ── certificates ───────────────────────────────────────────────────────────────────────────
  app.post(
    '/acme/cert/:id/:alt?',
    h(async (c) => {
      const id = c.req.param('id') ?? '';
      const wellFormed = /^[0-9a-f-]{36}$/.test(id);
      // Just issued here: known without a read (a stored certificate never changes).
      const known = wellFormed ? d.runner.issued.get(id) : undefined;
      const v = await auth(c, 'kid');
      const urls = urlsOf(c);
      if (v.payload.length) throw problem('malformed', 'a certificate is downloaded with POST-as-GET (empty payload)');
      const alt = c.req.param('alt');
      if (alt !== undefined && alt !== '1') throw problem('malformed', 'no such certificate chain', { status: 404 });
      const stored = wellFormed && !known ? await ctx.certificates.byId(id) : undefined;
      const row = known ?? (stored ? { der: Buffer.from(stored.der), issuerId: stored.issuerId, principal: stored.principalId } : undefined);
      if (!row || !row.principal.startsWith('acme:account:')) throw problem('malformed', 'no such certificate', { status: 404 });
      if (row.principal !== `acme:account:${v.account!.id}`) throw problem('unauthorized', 'the certificate belongs to another account');
      const issuer = await ctx.issuers.get(row.issuerId);
      const chain = issuer?.chain ?? [];
      // Default chain: up to (not including) the root; the alternate includes the root.
      const withoutRoot = chain.length > 1 ? chain.slice(0, -1) : chain;
      const served = alt === '1' ? chain : withoutRoot;
      const pem = [row.der, ...served].map((d2) => toPem(d2, 'CERTIFICATE')).join('');
      const base = urls.cert(id);
      c.header('Link', alt === '1' ? `<${base}>;rel="alternate"` : `<${base}/1>;rel="alternate"`, { append: true });
      return c.body(pem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
    }),
  );

  app.post(
    '/acme/revoke-cert',
    h(async (c) => {
      const v = await auth(c, 'either');
      const body = v.body as { certificate?: unknown; reason?: unknown } | undefined;
      if (!body || typeof body.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(body.certificate)) throw problem('malformed', 'revokeCert needs {"certificate": base64url DER}');
      const der = Buffer.from(body.certificate, 'base64url');
      let parsed;
      try {
        parsed = parseCertificate(der);
      } catch {
        throw problem('malformed', 'the certificate is not valid DER');
      }
      const reason = body.reason === undefined ? 0 : body.reason;
      if (typeof reason !== 'number' || !Number.isInteger(reason) || !REVOCATION_REASONS.has(reason)) {
        throw problem('badRevocationReason', 'the revocation reason must be one of 0, 1, 2, 3, 4, 5, 9, 10');
      }
      const row = await ctx.certificates.byDer(der);
      if (!row) throw problem('malformed', 'this certificate was not issued by this server', { status: 404 });
      let actor: string;
      if (v.account) {
        actor = `acme:account:${v.account.id}`;
        if (row.principalId !== actor) {
          // RFC 8555 §7.6: an account holding authorizations for every name may revoke too.
          if (!(await holdsAuthorizationsFor(db, v.account.id, parsed.sans))) {
            throw problem('unauthorized', 'this account did not request the certificate and holds no valid authorization for every identifier in it');
          }
          if (!HOLDER_REASONS.has(reason)) {
            throw problem('badRevocationReason', 'an account revoking through its authorizations (not the requester) may give reason 0 (unspecified) or 5 (cessationOfOperation)');
          }
          actor = `${actor}:authorizations`;
        }
      } else {
        const spki = createPublicKey({ key: v.jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' });
        if (!spki.equals(Buffer.from(parsed.spki))) throw problem('unauthorized', 'the request is not signed by the certificate key');
        actor = `acme:certificate-key:${row.serial}`;
      }
      if (row.status === 'revoked') throw problem('alreadyRevoked', 'the certificate is already revoked');
      try {
        await ctx.revocation.revoke(row.issuerId, row.serial, reason, actor);
      } catch (e) {
        if (isIssuanceError(e) && e.code === 'conflict') throw problem('alreadyRevoked', 'the certificate is already revoked');
        throw e;
      }
      return c.body(null, 200);
    }),
  );

  // ── renewal information (RFC 9773) ─────────────────────────────────────────────────────────
  /** An issuer's key identifier (the AKI of what it signs), kept per issuer certificate. */
  const keyIds = new Map<string, { certDer: Buffer; keyId: Buffer }>();
  const issuerKeyId = (issuerId: string): Buffer | undefined => {
    const i = ctx.issuers.list().find((x) => x.id === issuerId);
    if (!i) return undefined;
    let k = keyIds.get(issuerId);
    if (!k || !k.certDer.equals(i.certDer)) {
      const parsed = parseCertificate(i.certDer);
      keyIds.set(issuerId, (k = { certDer: i.certDer, keyId: parsed.ski ?? keyIdentifier(parsed.spki) }));
    }
    return k.keyId;
  };
  app.get(
    '/acme/renewal-info/:id',
    h(async (c) => {
      const ref = parseCertId((c.req.param('id') ?? ''));
      if (!ref) throw problem('malformed', 'not an RFC 9773 certificate identifier');
      const rows = await ctx.certificates.bySerialAnyIssuer(ref.serial);
      const row = rows.find((r) => issuerKeyId(r.issuerId)?.equals(ref.aki));
      if (!row) throw problem('malformed', 'no certificate with this identifier', { status: 404 });
      const w = renewalWindow(row);
      return send(c, 200, { suggestedWindow: { start: w.start.toISOString(), end: w.end.toISOString() } }, { 'Retry-After': String(settings.ariRetryAfter) });
    }),
  );

  // ── everything else under /acme ────────────────────────────────────────────────────────────
  const postOnly = /^\/acme\/(new-account|new-order|revoke-cert|key-change|acct\/|order\/|authz\/|chall\/|cert\/)/;
  app.all(
    '/acme/*',
    h(async (c) => {
      if (postOnly.test(c.req.path) && c.req.method !== 'POST') {
        throw problem('malformed', `${c.req.method} is not allowed here; use POST (POST-as-GET to read)`, { status: 405, headers: { Allow: 'POST' } });
      }
      if (/^\/acme\/(directory|new-nonce|renewal-info\/[^/]+)$/.test(c.req.path)) {
        throw problem('malformed', `${c.req.method} is not allowed here; use GET`, { status: 405, headers: { Allow: 'GET, HEAD' } });
      }
      throw problem('malformed', `no ACME resource at ${c.req.path}`, { status: 404 });
    }),
  );
}

/** Account contacts: mailto: URIs only (RFC 8555 §7.3). */
function parseContact(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw problem('malformed', '"contact" must be an array of URIs');
  if (v.length > 10) throw problem('invalidContact', 'at most 10 contacts');
  return v.map((x) => {
    if (typeof x !== 'string') throw problem('invalidContact', 'a contact must be a URI string');
    if (!x.toLowerCase().startsWith('mailto:')) throw problem('unsupportedContact', `only mailto: contacts are supported, not "${x.slice(0, 50)}"`);
    const addr = x.slice(7);
    if (!/^[^@\s,?]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(addr) || x.length > 254) throw problem('invalidContact', `"${x.slice(0, 100)}" is not a valid mailto: address`);
    return x;
  });
}

export { certId };

/**
 * What every ACME handler shares: URL builders, the JWS reader, answers and problem documents,
 * rate limits. One `AcmeWeb` is made per mounted server; the resource files take it.
 */
import { clientAddress } from '../../../src/http/client-address.ts';
import { readRawBody } from '../../../src/http/body.ts';
import { sql } from 'drizzle-orm';
import type { Context as HonoContext, Next } from 'hono';
import type { Logger } from 'pino';
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../../src/db/unavailable.ts';
import { isIssuanceError } from '../../../src/issuance/errors.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../../src/protocol-context.ts';
import type { IssuanceRunner } from '../finalize.ts';
import { authenticate, type AccountRow, type Verified } from '../jws.ts';
import type { ExtraRead, NonceService } from '../nonce.ts';
import { makeUrls, type Urls } from '../orders.ts';
import { AcmeProblem, fromIssuanceError, problem } from '../problems.ts';
import { acmeRateLimits } from '../schema.ts';
import type { AcmeSettings } from '../settings.ts';
import type { Validator } from '../validation/index.ts';

export type C = HonoContext<AppEnv>;
export type Handler = (c: C) => Promise<Response>;

export interface AcmeDeps {
  ctx: ProtocolContext;
  settings: AcmeSettings;
  nonces: NonceService;
  validator: Validator;
  runner: IssuanceRunner;
  log: Logger;
}

const JOSE = 'application/jose+json';

export type AcmeWeb = ReturnType<typeof acmeWeb>;

export function acmeWeb(d: AcmeDeps) {
  const { ctx, settings, nonces } = d;
  const db = ctx.store.db;

  const { urlsOf, requestUrl } = urlBuilders(settings);

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

  /** A handler whose throws become problem documents. */
  const h = (fn: Handler) => async (c: C) => {
    try {
      return await fn(c);
    } catch (e) {
      return renderError(c, e);
    }
  };

  // Set before the handler runs, so they are part of the response it builds: touching
  // c.res.headers afterwards would make @hono/node-server build a full Response (slow path).
  const commonHeaders = async (c: C, next: Next) => {
    c.header('Replay-Nonce', nonces.issue());
    c.header('Cache-Control', 'no-store');
    c.header('Link', `<${urlsOf(c).base}/directory>;rel="index"`, { append: true });
    await next();
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

  const { rateLimit, rateLimited } = rateLimits(db, settings);

  const retryAfter = () => ({ 'Retry-After': String(settings.retryAfter) });

  /** The account a kid-signed request names in its URL must be the signer. */
  const ownAccount = (v: Verified, id: string): AccountRow => {
    if (!v.account || v.account.id !== id) throw problem('unauthorized', 'the request is signed by another account');
    return v.account;
  };

  return { d, ctx, settings, nonces, db, urlsOf, requestUrl, clientIp, send, h, commonHeaders, bodyText, auth, rateLimit, rateLimited, retryAfter, ownAccount };
}

/** URL builders for the base the server is reached at (the setting, else the request's origin). */
function urlBuilders(settings: AcmeSettings) {
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
  return { urlsOf, requestUrl };
}

/** Counters per key and window in acme_rate_limits. */
function rateLimits(db: ProtocolContext['store']['db'], settings: AcmeSettings) {
  const rateLimited = (limit: number, what: string, window: number) => {
    const retry = Math.max(1, Math.ceil((window + 1) * settings.rateWindow - Date.now() / 1000));
    return problem('rateLimited', `too many ${what}: at most ${limit} per ${settings.rateWindow} s; retry after ${retry} s`, {
      headers: { 'Retry-After': String(retry) },
    });
  };

  /** Counts one event against `key` in the current window; refuses past `limit` (0: no limit). */
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
  return { rateLimit, rateLimited };
}

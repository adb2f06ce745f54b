/**
 * newOrder (RFC 8555 §7.4), by two paths that must answer alike (test/acme/new-order-paths.test.ts
 * runs one table of cases through both):
 * - the one-statement path, for a request signed by an account whose key this process knows:
 *   the statement that burns the nonce also counts the rate limits and inserts the order;
 * - the general path: authenticate (one read), then `replaces`, rate limits, insert.
 */
import { and, eq, sql } from 'drizzle-orm';
import { parseCertId } from '../ari.ts';
import { authenticate, checkAccount, preverify, staleNonce } from '../jws.ts';
import { buildOrder, createOrder, createOrderCtes, orderJson, ORDER_STORED, parseIdentifiers, storedOrder, type NewOrderInput, type Urls } from '../orders.ts';
import { problem } from '../problems.ts';
import { acmeOrders } from '../schema.ts';
import type { AcmeWeb, C, Handler } from './web.ts';

/** A rate limit counted in the statement of a write (counter CTE `cte`, see quickNewOrder). */
interface FoldedLimit {
  cte: string;
  key: string;
  limit: number;
  what: string;
}

type OrderInput = NewOrderInput & { body: Record<string, unknown> };

const parseTime = (v: unknown, name: string): Date | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) throw problem('malformed', `"${name}" must be an RFC 3339 date-time`);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw problem('malformed', `"${name}" is not a valid date-time`);
  return d;
};

/** Reads a newOrder payload (identifiers, dates, profile), bar `replaces`; both paths use it. */
function orderInputReader(w: AcmeWeb) {
  const { ctx, settings } = w;

  /** A newOrder payload checked (identifiers, dates, profile), bar `replaces`. Both paths use it. */
  const orderInput = async (payload: unknown, accountId: string): Promise<OrderInput> => {
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
    await checkProfile(profileName, certgateProfile, identifiers);
    const reuseMinSeconds = settings.authzReuse ? settings.authzReuseMinSeconds : undefined;
    return { body, accountId, identifiers, notBefore, notAfter, profile: profileName, certgateProfile, lifetimeSeconds: settings.orderLifetime, reuseMinSeconds };
  };

  /** Refuses early what the profile would refuse at finalize. */
  const checkProfile = async (profileName: string, certgateProfile: string, identifiers: NewOrderInput['identifiers']) => {
    const profile = await ctx.profiles.get(certgateProfile);
    // A system profile (OCSP signing, RA signers, CAs) is never an ACME client's; the pipeline refuses it too.
    if (!profile || profile.enabled === false || profile.audience === 'system') throw problem('invalidProfile', `profile "${profileName}" is not available`);
    const refused = identifiers.filter((i) => {
      const rule = i.type === 'ip' ? profile.san.ip : profile.san.dns;
      return !rule.allowed || (i.value.startsWith('*.') && !rule.wildcard);
    });
    if (refused.length) {
      throw problem('rejectedIdentifier', `profile "${profileName}" does not allow ${refused.map((i) => `${i.type}:${i.value}`).join(', ')}`, {
        subproblems: refused.map((i) => ({ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: `not allowed by profile "${profileName}"`, identifier: i })),
      });
    }
  };

  return orderInput;
}

export function newOrderHandlers(w: AcmeWeb) {
  const { ctx, settings, nonces } = w;
  const orderInput = orderInputReader(w);

  /** The order rate limits, as counters folded into the one statement. */
  const foldedLimits = (c: C, accountId: string): FoldedLimit[] => {
    const limits: FoldedLimit[] = [];
    if (settings.rateOrdersPerAccount) limits.push({ cte: 'rl_acct', key: `order-acct:${accountId}`, limit: settings.rateOrdersPerAccount, what: 'new orders for this account' });
    if (settings.rateOrdersPerIp) limits.push({ cte: 'rl_ip', key: `order-ip:${w.clientIp(c)}`, limit: settings.rateOrdersPerIp, what: 'new orders from this address' });
    return limits;
  };

  /**
   * newOrder in one statement: a request signed by an account whose key this process knows is
   * verified first; the statement that burns its nonce counts the order rate limits and inserts
   * the order, on condition that the account is still valid with that key and within its limits.
   * Undefined when the key is not known or the order `replaces` a certificate: the general path
   * then answers.
   */
  const quickNewOrder = async (c: C, text: string, urls: Urls): Promise<Response | undefined> => {
    const pre = preverify(text, { key: 'kid', url: w.requestUrl(c), accountUrlPrefix: `${urls.base}/acct/`, nonces });
    if (!pre) return undefined;
    if (pre.body && typeof pre.body === 'object' && 'replaces' in pre.body) return undefined;
    const input = await orderInput(pre.body, pre.accountId);
    const built = buildOrder(input);
    const reuse = input.reuseMinSeconds !== undefined;
    const limits = foldedLimits(c, pre.accountId);
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
    for (const l of limits) if (Number(r.row[l.cte]) > l.limit) throw w.rateLimited(l.limit, l.what, window);
    if (!r.written) throw problem('serverInternal', 'the order could not be stored; retry');
    return w.send(c, 201, orderJson(storedOrder(built, r.row), urls), { Location: urls.order(built.order.id) });
  };

  /** newOrder by separate statements: any account, and orders that replace a certificate (RFC 9773 §5). */
  const generalNewOrder = async (c: C, text: string, urls: Urls): Promise<Response> => {
    const v = await authenticate(text, { key: 'kid', url: w.requestUrl(c), accountUrlPrefix: `${urls.base}/acct/`, nonces });
    const account = v.account!;
    const input = await orderInput(v.body, account.id);
    const replaces = input.body.replaces === undefined ? undefined : await checkReplaces(w, input.body.replaces, account.id);
    await w.rateLimit(`order-acct:${account.id}`, settings.rateOrdersPerAccount, 'new orders for this account');
    await w.rateLimit(`order-ip:${w.clientIp(c)}`, settings.rateOrdersPerIp, 'new orders from this address');
    const order = await createOrder(ctx.store, { ...input, replaces });
    return w.send(c, 201, orderJson(order, urls), { Location: urls.order(order.id) });
  };

  const newOrder: Handler = async (c) => {
    const urls = w.urlsOf(c);
    const text = await w.bodyText(c);
    return (await quickNewOrder(c, text, urls)) ?? generalNewOrder(c, text, urls);
  };

  return { newOrder };
}

/** `replaces` names a certificate of this account that no other live order replaces. */
async function checkReplaces(w: AcmeWeb, replaces: unknown, accountId: string): Promise<string> {
  const { ctx, db } = w;
  const ref = typeof replaces === 'string' ? parseCertId(replaces) : undefined;
  if (!ref) throw problem('malformed', '"replaces" is not an RFC 9773 certificate identifier');
  const [old] = await ctx.certificates.bySerialAnyIssuer(ref.serial);
  if (!old) throw problem('malformed', '"replaces" names no certificate of this CA', { status: 404 });
  if (old.principalId !== `acme:account:${accountId}`) throw problem('unauthorized', '"replaces" names a certificate of another account');
  const [dup] = await db
    .select({ id: acmeOrders.id })
    .from(acmeOrders)
    .where(and(eq(acmeOrders.replaces, replaces as string), sql`${acmeOrders.status} <> 'invalid'`))
    .limit(1);
  if (dup) throw problem('alreadyReplaced', 'another order already replaces this certificate');
  return replaces as string;
}

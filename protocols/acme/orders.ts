/**
 * Orders, authorizations and challenges (RFC 8555 §7.1.3-7.1.5, §7.4, §7.5): identifier policy,
 * creation, the status machine with expiry, and their JSON representations.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { inArray } from 'drizzle-orm';
import type { Database, Db } from '../../src/db/client.ts';

/** Runs constant-text statements (the hot paths skip the query builder). */
export type Query = Pick<Database, 'query'>;
import type { Identifier } from '../../src/issuance/request.ts';
import { ipFromBytes, ipToBytes } from '../../src/pki/extensions.ts';
import type { ExtraRead } from './nonce.ts';
import { problem, subproblem, type ProblemJson } from './problems.ts';
import { acmeAuthorizations, acmeChallenges, acmeOrders } from './schema.ts';

export type OrderRow = typeof acmeOrders.$inferSelect;
export type AuthzRow = typeof acmeAuthorizations.$inferSelect;
export type ChallengeRow = typeof acmeChallenges.$inferSelect;

export const newId = () => randomBytes(12).toString('base64url');
export const isId = (s: string | undefined): s is string => !!s && /^[A-Za-z0-9_-]{1,64}$/.test(s);

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Normalises one requested identifier or explains (as a subproblem) why it is refused. */
export function normaliseIdentifier(raw: unknown): { ok: Identifier } | { error: ProblemJson } {
  const id = raw as { type?: unknown; value?: unknown };
  if (!id || typeof id !== 'object' || typeof id.type !== 'string' || typeof id.value !== 'string') {
    return { error: { type: 'urn:ietf:params:acme:error:malformed', detail: 'an identifier must be {"type": …, "value": …}' } };
  }
  const shown = { type: id.type.slice(0, 20), value: id.value.slice(0, 260) };
  if (id.type === 'dns') {
    const v = id.value.toLowerCase();
    if (isIP(v) || isIP(v.replace(/^\[|\]$/g, ''))) return { error: subproblem('malformed', 'an IP address must use identifier type "ip"', shown) };
    const wildcard = v.startsWith('*.');
    const base = wildcard ? v.slice(2) : v;
    if (v.length > 253 || !base || !base.split('.').every((l) => label.test(l))) {
      return { error: subproblem('rejectedIdentifier', `"${shown.value}" is not a valid DNS name`, shown) };
    }
    if (/^\d+$/.test(base.split('.').pop()!)) return { error: subproblem('rejectedIdentifier', `"${shown.value}" has a numeric top-level label`, shown) };
    return { ok: { type: 'dns', value: v } };
  }
  if (id.type === 'ip') {
    if (!isIP(id.value)) return { error: subproblem('malformed', `"${shown.value}" is not an IP address`, shown) };
    return { ok: { type: 'ip', value: ipFromBytes(ipToBytes(id.value)) } };
  }
  return { error: subproblem('unsupportedIdentifier', `identifier type "${shown.type}" is not supported (dns, ip)`, shown) };
}

/** Normalises and deduplicates the identifiers of a newOrder; all problems in one answer. */
export function parseIdentifiers(list: unknown, max: number): Identifier[] {
  if (!Array.isArray(list) || list.length === 0) throw problem('malformed', 'newOrder needs a non-empty "identifiers" array');
  if (list.length > max) throw problem('rejectedIdentifier', `an order may name at most ${max} identifiers`);
  const out: Identifier[] = [];
  const errors: ProblemJson[] = [];
  const seen = new Set<string>();
  for (const raw of list) {
    const r = normaliseIdentifier(raw);
    if ('error' in r) errors.push(r.error);
    else if (!seen.has(`${r.ok.type}:${r.ok.value}`)) {
      seen.add(`${r.ok.type}:${r.ok.value}`);
      out.push(r.ok);
    }
  }
  if (errors.length === 1 && !errors[0].identifier) throw problem('malformed', errors[0].detail);
  if (errors.length) {
    const type = errors.every((e) => e.type.endsWith(':unsupportedIdentifier')) ? 'unsupportedIdentifier' : errors.every((e) => e.type.endsWith(':malformed')) ? 'malformed' : 'rejectedIdentifier';
    throw problem(type, errors.length === 1 ? errors[0].detail : `${errors.length} identifiers were refused`, { subproblems: errors });
  }
  return out;
}

export function challengeTypesFor(id: Identifier, wildcard: boolean): string[] {
  if (id.type === 'ip') return ['http-01', 'tls-alpn-01'];
  if (wildcard) return ['dns-01'];
  return ['http-01', 'dns-01', 'tls-alpn-01'];
}

export interface NewOrderInput {
  accountId: string;
  identifiers: Identifier[];
  notBefore?: Date;
  notAfter?: Date;
  profile: string;
  certgateProfile: string;
  replaces?: string;
  lifetimeSeconds: number;
  /** Reuse the account's valid authorizations lasting at least this many seconds more (undefined: never). */
  reuseMinSeconds?: number;
}

/**
 * The inserts of a new order (authorizations, challenges, order) as CTEs named ru, a, c, o, each made
 * only when `gate` holds; `p(n)` spells the statement's n-th own parameter. Run alone (gate true)
 * or folded into the statement that authenticates the request (see NonceService.redeemAndWrite).
 * With `reuse`, `ru` maps each fresh authorization to a valid one of the same account and
 * identifier lasting past parameter 13; those fresh ones (and their challenges) are not
 * inserted, the order names the reused ones, expires with the earliest of them, and is `ready` when
 * every authorization is reused. `o` returns the order's authz_ids, status and expires as stored.
 */
export function createOrderCtes(gate: string, p: (n: number) => string, reuse: boolean): string {
  // Without reuse the statement is the plain three inserts (no planning of a lookup per order).
  const fresh = reuse ? ' and r.id not in (select fresh from ru)' : '';
  const freshChallenges = reuse ? ' and r.authz_id not in (select fresh from ru)' : '';
  const status = reuse ? `case when (select count(*) from ru) = jsonb_array_length(${p(7)}::jsonb) then 'ready' else 'pending' end` : `'pending'`;
  const expires = reuse ? `least(${p(5)}::timestamptz, (select min(expires) from ru))` : `${p(5)}::timestamptz`;
  const authzIds = reuse
    ? `array(select coalesce(ru.reused, e.v) from jsonb_array_elements_text(${p(7)}::jsonb) with ordinality e(v, n) left join ru on ru.fresh = e.v order by e.n)`
    : `array(select jsonb_array_elements_text(${p(7)}::jsonb))`;
  const ru = reuse
    ? `
  ru as (
    select distinct on (r.id) r.id as fresh, x.id as reused, x.expires
    from jsonb_to_recordset(${p(1)}::jsonb) as r(id text, account_id text, identifier_type text, identifier_value text, wildcard boolean)
    join acme_authorizations x on x.account_id = r.account_id and x.identifier_value = r.identifier_value
      and x.identifier_type = r.identifier_type and x.wildcard = r.wildcard and x.status = 'valid' and x.expires > ${p(13)}::timestamptz
    order by r.id, x.expires desc
  ),`
    : '';
  return `${ru}
  a as (
    insert into acme_authorizations (id, account_id, order_id, identifier_type, identifier_value, wildcard, status, expires)
    select id, account_id, order_id, identifier_type, identifier_value, wildcard, status, expires
    from jsonb_to_recordset(${p(1)}::jsonb)
      as r(id text, account_id text, order_id text, identifier_type text, identifier_value text, wildcard boolean, status text, expires timestamptz)
    where ${gate}${fresh}
  ), c as (
    insert into acme_challenges (id, authz_id, type, token, status)
    select id, authz_id, type, token, status
    from jsonb_to_recordset(${p(2)}::jsonb) as r(id text, authz_id text, type text, token text, status text)
    where ${gate}${freshChallenges}
  ), o as (
    insert into acme_orders (id, account_id, status, expires, identifiers, authz_ids, not_before, not_after, profile, certgate_profile, replaces)
    select ${p(3)}::text, ${p(4)}::text, ${status}, ${expires}, ${p(6)}::jsonb, ${authzIds},
      ${p(8)}::timestamptz, ${p(9)}::timestamptz, ${p(10)}::text, ${p(11)}::text, ${p(12)}::text
    where ${gate}
    returning authz_ids, status, expires
  )`;
}

/** What `o` stored (reused authorizations change the built order's authz_ids, status and expiry). */
export const ORDER_STORED = '(select authz_ids from o) as o_authz_ids, (select status from o) as o_status, (select expires from o) as o_expires';

/** The built order as stored, from a row carrying ORDER_STORED. */
export function storedOrder(built: BuiltOrder, row: Record<string, unknown>): OrderRow {
  const ids = row.o_authz_ids;
  if (!Array.isArray(ids)) return built.order;
  const expires = row.o_expires instanceof Date ? row.o_expires : new Date(String(row.o_expires));
  return { ...built.order, authzIds: ids as string[], status: String(row.o_status), expires };
}

const createOrderText = (reuse: boolean) => `with ${createOrderCtes('true', (n) => `$${n}`, reuse)} select count(*)::int as created${reuse ? `, ${ORDER_STORED}` : ''} from o`;
const CREATE_ORDER = { reuse: createOrderText(true), fresh: createOrderText(false) };

/** A new order with one fresh authorization (and its challenges) per identifier, ready to insert. */
export interface BuiltOrder {
  order: OrderRow;
  authzs: AuthzRow[];
  /** Parameters of createOrderCtes. */
  params: unknown[];
}

export function buildOrder(i: NewOrderInput): BuiltOrder {
  const now = Date.now();
  const expires = new Date(now + i.lifetimeSeconds * 1000);
  const orderId = newId();
  const authzs: AuthzRow[] = [];
  const challenges: (typeof acmeChallenges.$inferInsert)[] = [];
  for (const id of i.identifiers) {
    const wildcard = id.type === 'dns' && id.value.startsWith('*.');
    const authzId = newId();
    authzs.push({
      id: authzId,
      accountId: i.accountId,
      orderId,
      identifierType: id.type,
      identifierValue: wildcard ? id.value.slice(2) : id.value,
      wildcard,
      status: 'pending',
      expires,
      createdAt: new Date(now),
    });
    for (const type of challengeTypesFor(id, wildcard)) {
      challenges.push({ id: newId(), authzId, type, token: randomBytes(32).toString('base64url'), status: 'pending' });
    }
  }
  const order: OrderRow = {
    id: orderId,
    accountId: i.accountId,
    status: 'pending',
    expires,
    identifiers: i.identifiers,
    authzIds: authzs.map((a) => a.id),
    notBefore: i.notBefore ?? null,
    notAfter: i.notAfter ?? null,
    profile: i.profile,
    certgateProfile: i.certgateProfile,
    replaces: i.replaces ?? null,
    error: null,
    certificateId: null,
    csr: null,
    processingSince: null,
    createdAt: new Date(now),
  };
  const params = [
    JSON.stringify(authzs.map((x) => ({ id: x.id, account_id: x.accountId, order_id: x.orderId, identifier_type: x.identifierType, identifier_value: x.identifierValue, wildcard: x.wildcard, status: x.status, expires: x.expires }))),
    JSON.stringify(challenges.map((x) => ({ id: x.id, authz_id: x.authzId, type: x.type, token: x.token, status: x.status }))),
    orderId,
    i.accountId,
    expires.toISOString(),
    JSON.stringify(i.identifiers),
    JSON.stringify(order.authzIds),
    order.notBefore?.toISOString() ?? null,
    order.notAfter?.toISOString() ?? null,
    i.profile,
    i.certgateProfile,
    order.replaces,
  ];
  // The reuse CTE's own parameter: how long a reused authorization must still last.
  if (i.reuseMinSeconds !== undefined) params.push(new Date(now + i.reuseMinSeconds * 1000).toISOString());
  return { order, authzs, params };
}

/** Creates an order with one authorization (fresh with its challenges, or reused) per identifier: one statement, atomic. */
export async function createOrder(q: Query, i: NewOrderInput): Promise<OrderRow> {
  const built = buildOrder(i);
  const [row] = await q.query<Record<string, unknown>>(i.reuseMinSeconds !== undefined ? CREATE_ORDER.reuse : CREATE_ORDER.fresh, built.params);
  return storedOrder(built, row ?? {});
}

export function effectiveOrderStatus(o: Pick<OrderRow, 'status' | 'expires'>, now = Date.now()): string {
  if ((o.status === 'pending' || o.status === 'ready') && o.expires.getTime() <= now) return 'invalid';
  return o.status;
}

export function effectiveAuthzStatus(a: Pick<AuthzRow, 'status' | 'expires'>, now = Date.now()): string {
  if ((a.status === 'pending' || a.status === 'valid') && a.expires.getTime() <= now) return 'expired';
  return a.status;
}

export interface Urls {
  base: string;
  order(id: string): string;
  authz(id: string): string;
  chall(id: string): string;
  finalize(id: string): string;
  cert(id: string): string;
  account(id: string): string;
}

export function makeUrls(base: string): Urls {
  const a = `${base}/acme`;
  return {
    base: a,
    order: (id) => `${a}/order/${id}`,
    authz: (id) => `${a}/authz/${id}`,
    chall: (id) => `${a}/chall/${id}`,
    finalize: (id) => `${a}/order/${id}/finalize`,
    cert: (id) => `${a}/cert/${id}`,
    account: (id) => `${a}/acct/${id}`,
  };
}

export function orderJson(o: OrderRow, urls: Urls) {
  const status = effectiveOrderStatus(o);
  const j: Record<string, unknown> = {
    status,
    expires: o.expires.toISOString(),
    identifiers: o.identifiers,
    authorizations: o.authzIds.map((id) => urls.authz(id)),
    finalize: urls.finalize(o.id),
  };
  if (o.notBefore) j.notBefore = o.notBefore.toISOString();
  if (o.notAfter) j.notAfter = o.notAfter.toISOString();
  j.profile = o.profile;
  if (o.replaces) j.replaces = o.replaces;
  if (o.error) j.error = o.error;
  else if (status === 'invalid' && o.status !== 'invalid') j.error = { type: 'urn:ietf:params:acme:error:malformed', detail: 'the order expired', status: 400 };
  if (o.certificateId && status === 'valid') j.certificate = urls.cert(o.certificateId);
  return j;
}

export function challengeJson(c: ChallengeRow, urls: Urls) {
  const j: Record<string, unknown> = { type: c.type, url: urls.chall(c.id), token: c.token, status: c.status };
  if (c.validated) j.validated = c.validated.toISOString();
  if (c.error) j.error = c.error;
  return j;
}

export function authzJson(a: AuthzRow, challenges: ChallengeRow[], urls: Urls) {
  const status = effectiveAuthzStatus(a);
  // A valid authorization lists the challenge that made it valid (RFC 8555 §7.1.4).
  const shown = status === 'valid' ? challenges.filter((c) => c.status === 'valid') : challenges;
  const order: Record<string, number> = { 'http-01': 0, 'dns-01': 1, 'tls-alpn-01': 2 };
  shown.sort((x, y) => (order[x.type] ?? 9) - (order[y.type] ?? 9));
  const j: Record<string, unknown> = {
    identifier: { type: a.identifierType, value: a.identifierValue },
    status,
    expires: a.expires.toISOString(),
    challenges: shown.map((c) => challengeJson(c, urls)),
  };
  if (a.wildcard) j.wildcard = true;
  return j;
}

export async function loadAuthzs(db: Db, ids: string[]): Promise<AuthzRow[]> {
  if (!ids.length) return [];
  return db.select().from(acmeAuthorizations).where(inArray(acmeAuthorizations.id, ids));
}

// The outcome is recorded only on a challenge still pending or processing: when two validations
// of one challenge race (two instances), the first outcome stands. A pending authorization belongs
// to its own order only (reuse takes valid ones), which is ready once its own authorizations are
// valid: reused ones were valid when it was created, it expires no later than they do, and
// deactivating one invalidates every order naming it. (Checking them here by `= any(authz_ids)`
// cost ~7 % of PostgreSQL's CPU per order.)
const RECORD_VALID = `
  with c as (
    update acme_challenges set status = 'valid', validated = now(), record = $2::jsonb, attempts = attempts + 1
    where id = $1::text and status in ('pending', 'processing') returning validated
  ), a as (
    update acme_authorizations set status = 'valid' where id = $3::text and status = 'pending' and exists (select 1 from c) returning order_id
  ), o as (
    update acme_orders set status = 'ready'
    where id = $4::text and status = 'pending' and expires > now()
      and exists (select 1 from a)
      and not exists (select 1 from acme_authorizations where order_id = $4::text and id <> $3::text and status <> 'valid')
  )
  select validated from c`;

/**
 * Success of a challenge: challenge valid, its authorization valid, the order ready once all are —
 * one statement. Returns the validation time stored, or undefined when the challenge already had
 * an outcome.
 */
export async function recordValid(q: Query, ch: ChallengeRow, authz: AuthzRow, record: unknown): Promise<Date | undefined> {
  const [row] = await q.query<{ validated: Date | string }>(RECORD_VALID, [ch.id, JSON.stringify(record), authz.id, authz.orderId]);
  return row ? new Date(row.validated) : undefined;
}

const RECORD_INVALID = `
  with c as (
    update acme_challenges set status = 'invalid', error = $2::jsonb, record = $3::jsonb, attempts = attempts + 1
    where id = $1::text and status in ('pending', 'processing') returning authz_id
  ), a as (
    update acme_authorizations set status = 'invalid' where id = $4::text and status = 'pending' and exists (select 1 from c) returning order_id
  ), o as (
    update acme_orders set status = 'invalid', error = $6::jsonb
    where id = $5::text and status in ('pending', 'ready') and exists (select 1 from a)
  )
  select authz_id from c`;

/** Failure of a challenge: challenge, authorization and order invalid, the problem kept on each. False when the challenge already had an outcome. */
export async function recordInvalid(q: Query, ch: ChallengeRow, authz: AuthzRow, error: ProblemJson, record: unknown): Promise<boolean> {
  const orderError: ProblemJson = {
    type: error.type,
    detail: `authorization of ${authz.identifierType}:${authz.identifierValue} failed: ${error.detail}`,
    status: 403,
    subproblems: [{ ...error, identifier: { type: authz.identifierType as Identifier['type'], value: authz.identifierValue } }],
  };
  const rows = await q.query(RECORD_INVALID, [ch.id, JSON.stringify(error), JSON.stringify(record), authz.id, authz.orderId, JSON.stringify(orderError)]);
  return rows.length > 0;
}

const MARK_PROCESSING = `update acme_challenges set status = 'processing', processing_since = now() where id = $1::text and status = 'pending' returning *`;

/**
 * Moves a pending challenge to processing (a validation outlasting the poll wait: other readers
 * then see it running); undefined when it was no longer pending.
 */
export async function markProcessing(q: Query, id: string): Promise<ChallengeRow | undefined> {
  const [row] = await q.query<Record<string, unknown>>(MARK_PROCESSING, [id]);
  return row ? challengeFromRow(row) : undefined;
}

/** One challenge as stored. */
export async function readChallenge(q: Query, id: string): Promise<ChallengeRow | undefined> {
  const [row] = await q.query<Record<string, unknown>>(`select * from acme_challenges where id = $1::text`, [id]);
  return row ? challengeFromRow(row) : undefined;
}

// ── reads folded into the authentication statement (one round trip per request) ───────────────

const d = (v: unknown) => (v == null ? null : new Date(v as string));

/** Scalar subquery: the order as JSON. */
export const orderExtra = (id: string): ExtraRead => ({ sql: `(select row_to_json(o) from acme_orders o where o.id = $X::text)`, id });

/** Scalar subquery: the authorization and its challenges as JSON. */
export const authzExtra = (id: string): ExtraRead => ({
  sql: `(select json_build_object('authz', row_to_json(a), 'challenges', coalesce((select json_agg(c) from acme_challenges c where c.authz_id = a.id), '[]'::json)) from acme_authorizations a where a.id = $X::text)`,
  id,
});

/** Scalar subquery: one challenge with its authorization, as authzExtra shapes it. */
export const challengeExtra = (id: string): ExtraRead => ({
  sql: `(select json_build_object('authz', row_to_json(a), 'challenges', json_build_array(row_to_json(ch))) from acme_challenges ch join acme_authorizations a on a.id = ch.authz_id where ch.id = $X::text)`,
  id,
});

export function orderFromJson(j: Record<string, any>): OrderRow {
  return {
    id: j.id,
    accountId: j.account_id,
    status: j.status,
    expires: d(j.expires)!,
    identifiers: j.identifiers,
    authzIds: j.authz_ids,
    notBefore: d(j.not_before),
    notAfter: d(j.not_after),
    profile: j.profile,
    certgateProfile: j.certgate_profile,
    replaces: j.replaces,
    error: j.error,
    certificateId: j.certificate_id,
    // The CSR is only read by issuance, from the row it updates.
    csr: null,
    processingSince: d(j.processing_since),
    createdAt: d(j.created_at)!,
  };
}

export function authzFromJson(j: { authz: Record<string, any>; challenges: Record<string, any>[] }): { authz: AuthzRow; challenges: ChallengeRow[] } {
  const a = j.authz;
  return {
    authz: {
      id: a.id,
      accountId: a.account_id,
      orderId: a.order_id,
      identifierType: a.identifier_type,
      identifierValue: a.identifier_value,
      wildcard: a.wildcard,
      status: a.status,
      expires: d(a.expires)!,
      createdAt: d(a.created_at)!,
    },
    challenges: j.challenges.map(challengeFromRow),
  };
}

/** A challenge from its row or row_to_json (snake_case columns). */
export function challengeFromRow(c: Record<string, any>): ChallengeRow {
  return {
    id: c.id,
    authzId: c.authz_id,
    type: c.type,
    token: c.token,
    status: c.status,
    validated: d(c.validated),
    error: c.error,
    attempts: c.attempts,
    processingSince: d(c.processing_since),
    record: c.record,
  };
}

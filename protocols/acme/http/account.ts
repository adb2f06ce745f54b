/** Accounts (RFC 8555 §7.3): newAccount with external account binding, update, orders list, key change. */
import { parseClientJson } from '../../../src/http/body.ts';
import { and, desc, eq, sql } from 'drizzle-orm';
import { flattenedVerify, type JWK } from 'jose';
import { checkAlg, decodeHeader, keyFromJwk, parseFlattened, thumbprint, verifySignature, type AccountRow } from '../jws.ts';
import { effectiveOrderStatus, newId, type Urls } from '../orders.ts';
import { problem } from '../problems.ts';
import { acmeAccounts, acmeEabKeys, acmeOrders } from '../schema.ts';
import type { AcmeWeb, C, Handler } from './web.ts';

const EAB_ALGS = ['HS256', 'HS384', 'HS512'];

export const accountJson = (a: AccountRow, urls: Urls) => ({
  status: a.status,
  contact: a.contact,
  termsOfServiceAgreed: a.termsAgreed,
  orders: `${urls.account(a.id)}/orders`,
  createdAt: a.createdAt.toISOString(),
});

export function accountHandlers(w: AcmeWeb) {
  const { ctx, settings, nonces, db } = w;

  const newAccount: Handler = async (c) => {
    const v = await w.auth(c, 'jwk');
    const urls = w.urlsOf(c);
    const body = (v.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw problem('malformed', 'the newAccount payload must be a JSON object');
    const tp = await thumbprint(v.jwk!);
    const [existing] = await db.select().from(acmeAccounts).where(eq(acmeAccounts.thumbprint, tp));
    if (existing) return w.send(c, 200, accountJson(existing, urls), { Location: urls.account(existing.id) });
    if (body.onlyReturnExisting === true) throw problem('accountDoesNotExist', 'no account exists with this key');
    const contact = parseContact(body.contact);
    if (settings.termsOfService && body.termsOfServiceAgreed !== true) {
      throw problem('userActionRequired', `agree to the terms of service (${settings.termsOfService}) with "termsOfServiceAgreed": true`, {
        headers: { Link: `<${settings.termsOfService}>;rel="terms-of-service"` },
      });
    }
    let eabKid: string | undefined;
    if (body.externalAccountBinding !== undefined) eabKid = await verifyEab(w, body.externalAccountBinding, tp, w.requestUrl(c));
    else if (settings.eabRequired) throw problem('externalAccountRequired', 'this server requires an external account binding (RFC 8555 §7.3.4)');
    await w.rateLimit(`acct-ip:${w.clientIp(c)}`, settings.rateAccountsPerIp, 'new accounts from this address');
    const id = newId();
    const row = { id, jwk: v.jwk!, thumbprint: tp, status: 'valid', contact, termsAgreed: body.termsOfServiceAgreed === true, eabKid: eabKid ?? null, createdIp: w.clientIp(c) };
    const created = await insertAccount(db, row, eabKid);
    if (!created) {
      // Another request created the account for this key meanwhile: answer with it.
      const [raced] = await db.select().from(acmeAccounts).where(eq(acmeAccounts.thumbprint, tp));
      return w.send(c, 200, accountJson(raced, urls), { Location: urls.account(raced.id) });
    }
    await ctx.audit.record({ actor: `acme:account:${id}`, action: 'acme.account.create', target: id, details: { eabKid, ip: w.clientIp(c) } });
    return w.send(c, 201, accountJson(created, urls), { Location: urls.account(id) });
  };

  const updateAccount: Handler = async (c) => {
    const v = await w.auth(c, 'kid');
    const urls = w.urlsOf(c);
    let account = w.ownAccount(v, c.req.param('id') ?? '');
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
        if (set.status) await deactivated(w, account.id);
      }
    }
    return w.send(c, 200, accountJson(account, urls), { Location: urls.account(account.id) });
  };

  const accountOrders: Handler = async (c) => {
    const v = await w.auth(c, 'kid');
    const urls = w.urlsOf(c);
    const account = w.ownAccount(v, c.req.param('id') ?? '');
    const rows = await db
      .select({ id: acmeOrders.id, status: acmeOrders.status, expires: acmeOrders.expires })
      .from(acmeOrders)
      .where(eq(acmeOrders.accountId, account.id))
      .orderBy(desc(acmeOrders.createdAt))
      .limit(1000);
    const live = rows.filter((o) => ['pending', 'ready', 'processing', 'valid'].includes(effectiveOrderStatus(o)));
    return w.send(c, 200, { orders: live.map((o) => urls.order(o.id)) });
  };

  return { newAccount, updateAccount, accountOrders };
}

/** Inserts the account and binds its EAB key in one transaction; undefined when the key raced. */
function insertAccount(db: AcmeWeb['db'], row: typeof acmeAccounts.$inferInsert, eabKid: string | undefined) {
  return db.transaction(async (tx) => {
    const [a] = await tx.insert(acmeAccounts).values(row).onConflictDoNothing().returning();
    if (!a) return undefined;
    if (eabKid) {
      const bound = await tx
        .update(acmeEabKeys)
        .set({ accountId: row.id })
        .where(and(eq(acmeEabKeys.kid, eabKid), sql`${acmeEabKeys.accountId} is null`))
        .returning({ kid: acmeEabKeys.kid });
      if (!bound.length) throw problem('unauthorized', 'the external account binding key is already bound to an account');
    }
    return a;
  });
}

/** A deactivated account's open orders become invalid (§7.3.6). */
async function deactivated(w: AcmeWeb, id: string): Promise<void> {
  const { ctx, db } = w;
  await db
    .update(acmeOrders)
    .set({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'the account was deactivated', status: 403 } })
    .where(and(eq(acmeOrders.accountId, id), sql`${acmeOrders.status} in ('pending','ready')`));
  await ctx.audit.record({ actor: `acme:account:${id}`, action: 'acme.account.deactivate', target: id });
}

/** Checks an external account binding (§7.3.4); returns its key id. */
async function verifyEab(w: AcmeWeb, eab: unknown, outerThumbprint: string, url: string): Promise<string> {
  const { ctx, db } = w;
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
  if ((await eabThumbprint(payload)) !== outerThumbprint) throw problem('unauthorized', 'the external account binding is for another key');
  return k.kid;
}

/** Key change (§7.3.5): the account's key rolled to the one that signed the inner JWS. */
export function keyChangeHandler(w: AcmeWeb): Handler {
  const { ctx, nonces, db } = w;
  return async (c: C) => {
    const v = await w.auth(c, 'kid');
    const urls = w.urlsOf(c);
    const account = v.account!;
    const { oldTp, newJwk } = await checkKeyChange(v.body, v.header.url, urls.account(account.id), account.thumbprint);
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
      // The unique thumbprint index refused it: another account took the key meanwhile.
      await conflict();
      throw problem('serverInternal', 'the key could not be changed; retry');
    }
    if (!updated) throw problem('malformed', 'the account key changed concurrently; retry', { status: 409 });
    await ctx.audit.record({ actor: `acme:account:${account.id}`, action: 'acme.account.key-change', target: account.id, details: { from: oldTp, to: newTp } });
    return w.send(c, 200, accountJson(updated, urls), { Location: urls.account(account.id) });
  };
}

/**
 * The inner JWS of a key change (§7.3.5): signed by the new key, naming the account and its
 * current key (`currentTp`). Returns the old key's thumbprint and the new key.
 */
async function checkKeyChange(outerBody: unknown, outerUrl: unknown, accountUrl: string, currentTp: string): Promise<{ oldTp: string; newJwk: JWK }> {
  const inner = parseFlattened(outerBody);
  const ih = decodeHeader(inner);
  const alg = checkAlg(ih.alg);
  if (ih.kid !== undefined || ih.jwk === undefined) throw problem('malformed', 'the inner JWS of a key change must carry "jwk" (the new key) and no "kid"');
  if (ih.nonce !== undefined) throw problem('malformed', 'the inner JWS of a key change must not carry a nonce');
  if (ih.url !== outerUrl) throw problem('malformed', 'the inner JWS "url" must equal the outer one');
  const { key: newKey, jwk: newJwk } = keyFromJwk(ih.jwk, alg);
  const payload = verifySignature(inner, newKey, alg);
  let kc: { account?: unknown; oldKey?: unknown };
  try {
    kc = parseClientJson(payload.toString('utf8')) as typeof kc;
  } catch {
    throw problem('malformed', 'the key change payload is not JSON');
  }
  if (kc.account !== accountUrl) throw problem('unauthorized', 'the key change names another account');
  let oldTp: string;
  try {
    oldTp = await thumbprint(kc.oldKey as JWK);
  } catch {
    throw problem('malformed', 'the key change "oldKey" is not a JWK');
  }
  if (oldTp !== currentTp) throw problem('unauthorized', 'the key change "oldKey" is not the current account key');
  return { oldTp, newJwk };
}

/** The thumbprint of the public JWK an EAB payload carries. */
async function eabThumbprint(payload: Uint8Array): Promise<string> {
  let inner: unknown;
  try {
    inner = parseClientJson(Buffer.from(payload).toString('utf8'));
  } catch {
    throw problem('malformed', 'the external account binding payload is not a JWK');
  }
  try {
    const jwk = inner as JWK;
    const byCurve: Record<string, 'ES256' | 'ES384' | 'ES512'> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
    const alg = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'OKP' ? 'EdDSA' : (byCurve[jwk.crv ?? ''] ?? 'ES256');
    return await thumbprint(keyFromJwk(inner, alg).jwk);
  } catch {
    throw problem('malformed', 'the external account binding payload is not a valid public JWK');
  }
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

/**
 * newOrder has two paths (protocols/acme/http/new-order.ts): one statement for an account whose
 * key this instance knows, separate statements otherwise. One table of cases runs through both;
 * each case's answer (status, problem or order JSON, its authorizations) must be the expected
 * one and the same from both paths, with ids, tokens and expiry times set aside.
 */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol, type AcmeModule } from '../../protocols/acme/index.ts';
import type { AcmeSettingsInput } from '../../protocols/acme/settings.ts';
import { acmeOrders } from '../../protocols/acme/schema.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, type TestContext } from '../support/context.ts';
import { AcmeClient, newKey, type AcmeResponse } from './client.ts';
import { startAcme, type AcmeHarness } from './harness.ts';

const BASE = 'http://acme.test';
const SETTINGS: AcmeSettingsInput = { rateOrdersPerAccount: 2 };
const err = (t: string) => `urn:ietf:params:acme:error:${t}`;
const dns = (value: string) => ({ type: 'dns', value });

interface Case {
  name: string;
  payload: unknown;
  status: number;
  /** The problem type of a refusal. */
  type?: string;
  /** Orders sent before this one by the same account (all must succeed). */
  before?: number;
}

const CASES: Case[] = [
  { name: 'one DNS name', payload: { identifiers: [dns('one.example')] }, status: 201 },
  { name: 'two names and a wildcard', payload: { identifiers: [dns('a.example'), dns('b.example'), dns('*.c.example')] }, status: 201 },
  { name: 'notBefore and notAfter', payload: { identifiers: [dns('dated.example')], notBefore: '2030-01-01T00:00:00Z', notAfter: '2030-02-01T00:00:00Z' }, status: 201 },
  { name: 'no identifiers', payload: { identifiers: [] }, status: 400, type: err('malformed') },
  { name: 'identifiers missing', payload: {}, status: 400, type: err('malformed') },
  { name: 'an unsupported identifier type', payload: { identifiers: [{ type: 'email', value: 'a@b.example' }] }, status: 400 },
  { name: 'a bad DNS name', payload: { identifiers: [dns('bad..example')] }, status: 400 },
  { name: 'notAfter before notBefore', payload: { identifiers: [dns('x.example')], notBefore: '2030-02-01T00:00:00Z', notAfter: '2030-01-01T00:00:00Z' }, status: 400, type: err('malformed') },
  { name: 'notBefore not RFC 3339', payload: { identifiers: [dns('x.example')], notBefore: 'tomorrow' }, status: 400, type: err('malformed') },
  { name: 'an unknown profile', payload: { identifiers: [dns('x.example')], profile: 'no-such-profile' }, status: 400, type: err('invalidProfile') },
  { name: 'a payload that is an array', payload: [dns('x.example')], status: 400, type: err('malformed') },
  { name: 'over the per-account rate limit', payload: { identifiers: [dns('rate.example')] }, before: 2, status: 429, type: err('rateLimited') },
];

/** The answer with what differs by nature between two orders (ids, tokens, expiry) set aside. */
function normalize(r: AcmeResponse): unknown {
  const text = JSON.stringify({ status: r.status, body: r.json, location: r.location ? 'set' : undefined });
  return JSON.parse(
    text
      .replace(/\/acme\/(authz|order|chall|cert|acct)\/[A-Za-z0-9_-]+/g, '/acme/$1/<id>')
      .replace(/"(expires|token)":"[^"]*"/g, '"$1":"<$1>"')
      .replace(/retry after \d+ s/g, 'retry after <n> s'),
  );
}

describe.each(drivers)('newOrder: the one-statement path and the general path answer alike (%s)', (driver) => {
  let h: AcmeHarness;
  let t: TestContext;
  const others: AcmeModule[] = [];

  beforeAll(async () => {
    h = await startAcme(driver, SETTINGS);
    t = h.t;
  });
  afterAll(async () => {
    for (const o of others) await o.drain();
    await h?.close();
  });

  const accountId = (c: AcmeClient) => c.kid!.split('/').pop()!;
  const ordersOf = async (c: AcmeClient) => (await t.ctx.db.select({ n: count() }).from(acmeOrders).where(eq(acmeOrders.accountId, accountId(c))))[0].n;

  /** A new account on the harness instance, its key known there (read once with its kid). */
  const knownClient = async () => {
    const c = await new AcmeClient(`${BASE}/acme/directory`, await newKey('ES256'), h.fetchFn).init();
    expect((await c.newAccount()).status).toBe(201);
    expect((await c.get(c.kid!)).status).toBe(200);
    expect(h.acme.knowsAccountKey(accountId(c))).toBe(true);
    return c;
  };

  /** The same account through a fresh instance on the same database: its key unknown there. */
  const throughFreshInstance = async (c: AcmeClient) => {
    const acme = createAcmeProtocol(SETTINGS, {});
    others.push(acme);
    const app = await buildApp(t.ctx, [acme]);
    const o = await new AcmeClient(`${BASE}/acme/directory`, c.key, (u, i) => Promise.resolve(app.request(u, i))).init();
    o.kid = c.kid;
    expect(acme.knowsAccountKey(accountId(c))).toBe(false);
    return o;
  };

  /** Sends the case's orders by one path; the last answer, with its authorizations read back. */
  const run = async (cs: Case, path: 'one-statement' | 'general') => {
    const c = await knownClient();
    const send = async (payload: unknown) => {
      const via = path === 'general' ? await throughFreshInstance(c) : c;
      if (path === 'one-statement') expect(h.acme.knowsAccountKey(accountId(c))).toBe(true);
      return via.post(via.dir.newOrder, payload);
    };
    for (let i = 0; i < (cs.before ?? 0); i++) expect((await send({ identifiers: [dns(`before${i}.example`)] })).status).toBe(201);
    const stored = await ordersOf(c);
    const r = await send(cs.payload);
    const authzs = r.status === 201 ? await Promise.all((r.json.authorizations as string[]).map(async (u) => normalize(await c.get(u)))) : [];
    if (r.status === 201) expect(await ordersOf(c)).toBe(stored + 1);
    else expect(await ordersOf(c)).toBe(stored);
    return { r, answer: normalize(r), authzs };
  };

  it.each(CASES)('$name', async (cs) => {
    const quick = await run(cs, 'one-statement');
    const general = await run(cs, 'general');
    expect(quick.r.status).toBe(cs.status);
    if (cs.type) expect(quick.r.json.type).toBe(cs.type);
    if (cs.status === 429) expect(Number(quick.r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(general.answer).toEqual(quick.answer);
    expect(general.authzs).toEqual(quick.authzs);
  });
});

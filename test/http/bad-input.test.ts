/**
 * Bad input at the boundary (issue: 155 fuzzed inputs were 500s): NUL and lone surrogates in any
 * string that reaches SQL, JSON nested 10,000 deep, an unknown issuer — each a 4xx in the protocol's
 * own error format, with nothing written.
 */
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol } from '../../protocols/acme/index.ts';
import { emcaProtocol } from '../../protocols/emca/index.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { buildApp } from '../../src/server.ts';
import { AcmeClient, newKey } from '../acme/client.ts';
import { adminToken, call, cmsSign, makeCsr, register, removeTempDirs, type Registered } from '../emca/helpers.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

afterAll(() => removeTempDirs());

const tables = ['certificates', 'pending_requests', 'revocations', 'emca_transactions', 'emca_pfx', 'emca_clients', 'acme_accounts'];

describe.each(drivers)('bad input is a 4xx in the protocol format, nothing written (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  let admin: string;
  let client: Registered;
  const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, [emcaProtocol, createAcmeProtocol({}, {})]);
    admin = await adminToken(t.ctx);
    client = await register(app, admin, { name: 'badin', ips: ['127.0.0.0/8'] });
  });
  afterAll(() => t?.cleanup());

  const counts = async () => {
    const out: Record<string, number> = {};
    for (const tb of tables) {
      const r = await t.ctx.database.query<{ n: number }>(`select count(*)::int as n from ${tb}`);
      out[tb] = Number(r[0].n);
    }
    return out;
  };
  /** Runs `fn`, expects the status, and that no table grew. */
  const unchanged = async (fn: () => Response | Promise<Response>, status: number) => {
    const before = await counts();
    const r = await fn();
    const text = await r.text();
    expect(r.status, text).toBe(status);
    expect(await counts()).toEqual(before);
    return text;
  };
  const get = (path: string) => app.request(path, { headers: { Authorization: `Bearer ${admin}` } }, env);
  const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
    app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body }, env);

  it.each([
    '/api/v1/certificates?subject=%00',
    '/api/v1/certificates?san=a%00b',
    '/api/v1/certificates?profile=%00',
    '/api/v1/certificates?issuer=%00',
    '/api/v1/requests/%00',
    '/api/v1/audit?actor=%00',
    '/api/v1/emca/clients/%00',
    '/api/v1/certificates/%00',
    '/api/v1/profiles/x%00y',
    '/api/v1/certificates?offset=99999999999999999999999999',
    '/api/v1/certificates?limit=99999999999999999999999999',
  ])('admin GET %s → 400 JSON', async (path) => {
    const text = await unchanged(() => get(path), 400);
    expect(JSON.parse(text)).toMatchObject({ error: 'BadRequest' });
  });

  it('ACME: NUL in an account URL is 400, not a database error', async () => {
    const r = await app.request('/acme/acct/%00', { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{}' }, env);
    expect(r.status).toBe(400);
  });

  it('admin issuance: NUL or lone surrogate in idempotencyKey, an unknown issuerId → 4xx JSON', async () => {
    const csr = makeCsr('/CN=bad input').toString('base64');
    const issue = (extra: string) => postJson('/api/v1/certificates', `{"profile":"tls-client","csr":"${csr}",${extra}}`, { Authorization: `Bearer ${admin}` });
    for (const extra of ['"idempotencyKey":"k\\u0000"', '"idempotencyKey":"k\\ud800"', '"subject":{"CN":"a\\u0000b"}', '"profile\\u0000":1']) {
      expect(JSON.parse(await unchanged(() => issue(extra), 400))).toMatchObject({ error: 'BadRequest' });
    }
    const r = JSON.parse(await unchanged(() => issue('"issuerId":"no-such-issuer"'), 404));
    expect(r).toMatchObject({ error: 'NotFound' });
    expect(r.message).toMatch(/no-such-issuer/);
  });

  it('emCA V4: NUL in userName, profileName; lone surrogate in applicationId, subscriberId → failure envelope, not a 500', async () => {
    const outer = await unchanged(
      () => postJson('/emCAServices/rest/createCertificate', JSON.stringify({ requestData: 'AAAA', userName: 'badin\u0000' }), { emKey: client.emKey }),
      200, // V4 answers business failures with HTTP 200 and the failure envelope (spec §4.9)
    );
    expect(JSON.parse(outer)).toMatchObject({ status: 'failure' });
    const signature = cmsSign(makeCsr('/CN=emca bad'), client);
    for (const inner of [
      { profileName: 'tls-client\u0000', applicationId: 'a1', subscriberId: 's1' },
      { profileName: 'tls-client', applicationId: 'a2\ud800', subscriberId: 's1' },
      { profileName: 'tls-client', applicationId: 'a3', subscriberId: '\udfffs' },
    ]) {
      const before = await counts();
      const r = await call(app, client, 'createCertificate', { ...inner, signature });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'failure', result: 'Invalid input data' });
      expect(await counts()).toEqual(before);
    }
  });

  it('emCA V5: NUL in username, 10,000-deep nesting in the token request → 400 failure JSON', async () => {
    for (const body of [
      JSON.stringify({ username: 'badin\u0000', password: client.password }),
      JSON.stringify({ username: 'badin', password: client.password, x: '\ud800' }),
      `{"username":"badin","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      '['.repeat(100_000),
    ]) {
      expect(JSON.parse(await unchanged(() => postJson('/emca/v5/auth/token', body), 400))).toMatchObject({ status: 'failure' });
    }
  });

  it('emCA: a numeric profile id beyond any integer column → invalid profile id, not a database error', async () => {
    const r = await app.request('/emca/v5/profiles/99999999999999999999999999', { headers: { Authorization: `Bearer ${await v5Token()}` } }, env);
    expect(r.status, await r.clone().text()).toBeLessThan(500);
    expect(await r.json()).toMatchObject({ status: 'failure' });
    const v4 = await call(app, client, 'createCertificateById', { profileId: '99999999999999999999999999', applicationId: 'big-id', subscriberId: 's', signature: cmsSign(makeCsr('/CN=big id'), client) });
    expect(v4.status).toBe(200);
    expect(v4.body).toMatchObject({ status: 'failure', result: '99999999999999999999999999 profile does not exist' });
  });

  it('emCA V4: NUL in signed content read as text (a request id) → invalid input, not a database error', async () => {
    const before = await counts();
    const r = await call(app, client, 'getCertificateByRequestId', { signature: cmsSign(Buffer.from('req\u0000id'), client) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'failure', result: 'Invalid input data' });
    expect(await counts()).toEqual(before);
  });

  const v5Token = async () => {
    const r = await postJson('/emca/v5/auth/token', JSON.stringify({ username: 'badin', password: client.password }));
    return ((await r.json()) as { token: string }).token;
  };

  it('emCA admin: NUL in a registration name → 400 JSON', async () => {
    const text = await unchanged(() => postJson('/api/v1/emca/clients', JSON.stringify({ name: 'x\u0000', ips: ['127.0.0.1'] }), { Authorization: `Bearer ${admin}` }), 400);
    expect(JSON.parse(text)).toMatchObject({ error: 'BadRequest' });
  });

  it('ACME: NUL and lone surrogates in a JWS payload (contact) → malformed problem, no account', async () => {
    const acme = await new AcmeClient('http://localhost/acme/directory', await newKey(), (u, i) => Promise.resolve(app.request(u, i, env))).init();
    for (const contact of ['mailto:a\u0000@example.com', 'mailto:\ud800@example.com']) {
      const before = await counts();
      const r = await acme.newAccount({ termsOfServiceAgreed: true, contact: [contact] });
      expect(r.status).toBe(400);
      expect(r.json.type).toMatch(/malformed|invalidContact/);
      expect(await counts()).toEqual(before);
    }
  });
});

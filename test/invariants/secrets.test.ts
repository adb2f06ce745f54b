/**
 * Invariant 5, second half (DESIGN.md): secrets — the key-encryption key, admin tokens, CSR
 * challenge passwords, private keys — never appear in logs, error messages or the audit trail.
 * Everything the Context logs (at trace level) while the server handles good and bad requests
 * is captured and searched.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import { auditEvents, certificates } from '../../src/db/schema.ts';
import { serverInfoFile, startServer, type RunningServer } from '../../src/server.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { expectIssuanceError, operator } from '../issuance/helpers.ts';
import { createAcmeProtocol } from '../../protocols/acme/index.ts';
import { emcaProtocol } from '../../protocols/emca/index.ts';
import { ocspProtocol } from '../../protocols/ocsp/index.ts';
import { buildApp } from '../../src/server.ts';
import { AcmeClient, newKey } from '../acme/client.ts';
import { adminToken, call, cmsSign, makeCsr as emcaCsr, register } from '../emca/helpers.ts';

const CHALLENGE = 'Chall3nge-Pa55word-9f2c';
const QUERY_SECRET = 'q-secret-7d1e5a';

describe.each(drivers)('invariant 5: no secrets in logs, errors or the audit trail (%s)', (driver) => {
  let env: TestEnv | undefined;
  let ctx: Context | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.stop();
    await ctx?.close();
    await env?.cleanup();
    removeTempDirs();
    server = ctx = env = undefined;
  });

  it('keeps the KEK, tokens, challenge passwords and keys out of every log line and error body', async () => {
    env = await makeTestEnv(driver, { metricsEnabled: true });
    const kek = randomBytes(32);
    let logs = '';
    const logger = pino({ level: 'trace', base: { service: 'certgate' } }, { write: (s: string) => void (logs += s) });
    ctx = await createContext({ ...env.config, kek: kek.toString('base64') }, { logger });
    server = await startServer(ctx, [], { https: false });
    const token = JSON.parse(readFileSync(serverInfoFile(env.dataDir), 'utf8')).token as string;
    const url = server.httpUrl;
    const post = (path: string, body: unknown, auth = token) =>
      fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bodies: string[] = [];

    // Good: a CSR carrying a challenge password is issued.
    const good = makeCsr({ subject: '/CN=secret.example.com', sans: ['DNS:secret.example.com'], challengePassword: CHALLENGE });
    expect(good.der.includes(Buffer.from(CHALLENGE))).toBe(true);
    const ok = await post('/certificates', { csr: good.der.toString('base64'), profile: 'tls-server' });
    expect(ok.status).toBe(201);
    const serial = ((await ok.json()) as { certificate: { serial: string } }).certificate.serial;

    // Bad: the same CSR with its signature broken, with a weak key, for a forbidden name.
    const tampered = Buffer.from(good.der);
    tampered[tampered.indexOf(Buffer.from('secret.example.com')) + 1] ^= 1;
    const weak = makeCsr({ keyType: 'rsa-1024', subject: '/CN=weak.example.com', sans: ['DNS:weak.example.com'], challengePassword: CHALLENGE });
    const wild = makeCsr({ subject: '/CN=alice', sans: ['DNS:*.example.com'], challengePassword: CHALLENGE });
    for (const [der, profile, status] of [
      [tampered, 'tls-server', 400],
      [weak.der, 'tls-server', 403],
      [wild.der, 'tls-client', 403],
    ] as const) {
      const r = await post('/certificates', { csr: der.toString('base64'), profile });
      const text = await r.text();
      expect(r.status, text).toBe(status);
      bodies.push(text);
    }
    // The pipeline's own errors, called directly.
    for (const der of [tampered, weak.der]) {
      const e = await expectIssuanceError(ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der } }), der === tampered ? 'badPop' : 'policy', /./);
      bodies.push(e.message);
    }
    // A bad token, a broken body, a secret in a query string, a revocation.
    const forged = token.slice(0, -4) + 'AAAA';
    const bad = await post('/certificates', { csr: 'x', profile: 'tls-server' }, forged);
    expect(bad.status).toBe(401);
    bodies.push(await bad.text());
    const junk = await fetch(`${url}/api/v1/certificates`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: `{"csr": "${CHALLENGE}` });
    expect(junk.status).toBe(400);
    bodies.push(await junk.text());
    expect((await fetch(`${url}/healthz?token=${QUERY_SECRET}`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/certificates?access_token=${QUERY_SECRET}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await post(`/certificates/${serial}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);

    // What was stored: audit trail and certificate rows.
    const audit = JSON.stringify(await ctx.db.select().from(auditEvents));
    const stored = JSON.stringify(await ctx.db.select({ m: certificates.metadata, s: certificates.subject, p: certificates.principal }).from(certificates));
    const [{ n }] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(auditEvents);
    expect(n).toBeGreaterThan(0);

    await server.stop();
    await ctx.close();
    ctx = undefined;

    expect(logs).toMatch(/"msg":"request"/);
    const secrets: [string, string][] = [
      ['KEK (base64)', kek.toString('base64')],
      ['KEK (hex)', kek.toString('hex')],
      ['admin token', token],
      ['admin token signature', token.split('.')[2]],
      ['forged token', forged],
      ['challenge password', CHALLENGE],
      ['query-string secret', QUERY_SECRET],
    ];
    for (const [what, value] of secrets) {
      expect(logs.includes(value), `${what} in the logs`).toBe(false);
      for (const b of bodies) expect(b.includes(value), `${what} in an error body: ${b}`).toBe(false);
      expect(audit.includes(value), `${what} in the audit trail`).toBe(false);
      expect(stored.includes(value), `${what} in certificate rows`).toBe(false);
    }
    expect(logs).not.toMatch(/PRIVATE KEY/);
    for (const b of bodies) expect(b).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  });

  /**
   * Database errors on every protocol path: each table a request writes refuses the insert
   * (a CHECK constraint that no row meets), so the failed statement — with a sealed private key,
   * certificate DER, PFX or password hash among its parameters — reaches the error handlers.
   */
  it('logs no SQL parameters, key material, PFX bytes or passwords when the database fails', async () => {
    env = await makeTestEnv(driver);
    let logs = '';
    const logger = pino({ level: 'trace' }, { write: (s: string) => void (logs += s) });
    ctx = await createContext(env.config, { logger });
    const app = await buildApp(ctx, [ocspProtocol, createAcmeProtocol({}, {}), emcaProtocol]);
    const admin = await adminToken(ctx);
    const client = await register(app, admin, { name: 'dberr', ips: ['127.0.0.0/8'] });
    const block = (table: string) => ctx!.database.query(`alter table ${table} add constraint certgate_test_refuse check (false) not valid`);
    for (const table of ['certificates', 'pending_requests', 'emca_transactions', 'emca_pfx', 'acme_accounts', 'ocsp_responders', 'audit_events']) await block(table);
    const auth = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };
    const statuses: number[] = [];
    const note = async (r: Response | Promise<Response>) => {
      const res = await r;
      statuses.push(res.status);
      const text = await res.text();
      expect(text).not.toMatch(/params|\n\s+at |certgate_test_refuse/);
    };

    // Admin issuance (certificate row: DER), OCSP responder creation (sealed key).
    const csr = makeCsr({ subject: '/CN=dberr.example.com', sans: ['DNS:dberr.example.com'], challengePassword: CHALLENGE });
    await note(app.request('/api/v1/certificates', { method: 'POST', headers: auth, body: JSON.stringify({ csr: csr.der.toString('base64'), profile: 'tls-server' }) }));
    await note(app.request('/api/v1/ocsp/issuers/dev-issuing/responders', { method: 'POST', headers: auth, body: '{}' }));
    // emCA V4: a CSR-based certificate and a server-generated PKCS#12 (sealed key, PFX, PFX password).
    const base = { profileName: 'tls-client', subscriberId: 's', applicationId: 'dberr-1' };
    statuses.push((await call(app, client, 'createCertificate', { ...base, signature: cmsSign(emcaCsr(), client) })).status);
    statuses.push((await call(app, client, 'createPKCS12', { ...base, applicationId: 'dberr-2', signature: cmsSign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=pfx-pin-789', client) })).status);
    // emCA V5 issuance.
    const env5 = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
    const tok = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'dberr', password: client.password }) }, env5);
    const { token } = (await tok.json()) as { token: string };
    await note(app.request('/emca/v5/certificates', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ ...base, applicationId: 'dberr-3', csr: emcaCsr().toString('base64') }) }, env5));
    // ACME: a new account (the account key's JWK).
    const acme = await new AcmeClient('http://localhost/acme/directory', await newKey(), (u, i) => Promise.resolve(app.request(u, i, env5))).init();
    statuses.push((await acme.newAccount({ termsOfServiceAgreed: true, contact: ['mailto:dberr@example.com'] })).status);

    await ctx.close();
    ctx = undefined;
    // Every path failed on the database, and said so in the log.
    expect(statuses.every((s) => s >= 200), String(statuses)).toBe(true);
    expect(logs).toMatch(/certgate_test_refuse/);
    const failed = logs.split('\n').filter((l) => l.includes('certgate_test_refuse')).map((l) => JSON.parse(l).msg);
    for (const path of ['admin API error', 'ocsp admin: unhandled error', 'emca: unhandled error', 'emca v5: unhandled error', 'acme: unexpected error']) expect(failed).toContain(path);
    expect(failed.filter((m) => m === 'emca: unhandled error')).toHaveLength(2);
    const leaks: [string, RegExp | string][] = [
      ['SQL parameters', /params/i],
      ['bytes as a JSON Buffer', /"type":"Buffer"|"data":\[\d+,\d+/],
      ['a long base64 run (DER, sealed key, PFX)', /[A-Za-z0-9+/]{160,}/],
      ['a long hex run (bytea, DER)', /(?:\\x)?[0-9a-fA-F]{96,}/],
      ['a PEM block', 'BEGIN '],
      ['the emCA password', client.password],
      ['the PFX password', 'pfx-pin-789'],
      ['the challenge password', CHALLENGE],
    ];
    for (const [what, re] of leaks) {
      const hit = typeof re === 'string' ? logs.includes(re) : re.test(logs);
      expect(hit, `${what} in the logs:\n${logs.split('\n').filter((l) => (typeof re === 'string' ? l.includes(re) : re.test(l))).slice(0, 2).join('\n').slice(0, 1500)}`).toBe(false);
    }
  });
});

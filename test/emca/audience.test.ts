/**
 * Issue 11, hole 1, reproduced as the attacker did it: a registered emCA client (no --profile, or
 * even one whose allow-list names the profile) asks for an OCSP-signing or emCA signing certificate
 * over V4 and V5. Both are system profiles: refused as an invalid profile, nothing issued, and
 * neither is listed to the client.
 */
import { and, count, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, call, cmsSign, makeApp, makeCsr, register, removeTempDirs, type Registered } from './helpers.ts';

afterAll(() => removeTempDirs());

describe.each(drivers)('emCA clients cannot obtain system profiles (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  let open: Registered;
  let listed: Registered;
  const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await makeApp(t.ctx);
    const admin = await adminToken(t.ctx);
    open = await register(app, admin, { name: 'no-profile-app', ips: ['127.0.0.1'] });
    // An operator who put system profiles on the allow-list does not make them issuable either.
    listed = await register(app, admin, { name: 'listed-app', ips: ['127.0.0.1'], profiles: ['ocsp-signing', 'emca-client-signing', 'tls-client'] });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const issuedTo = async (who: Registered) =>
    (await t.ctx.db.select({ n: count() }).from(certificates).where(and(eq(certificates.principal, `emca:client:${who.id}`), eq(certificates.protocol, 'emca'))))[0].n;

  it.each(['ocsp-signing', 'emca-client-signing'])('V4 createCertificate with %s: Invalid Certificate Profile, nothing issued', async (profileName) => {
    for (const who of [open, listed]) {
      const before = await issuedTo(who);
      const r = await call(app, who, 'createCertificate', { signature: cmsSign(makeCsr('/CN=OCSP Responder'), who), profileName, subscriberId: 's', applicationId: `attack-${profileName}-${who.userName}` });
      expect(r.body).toEqual({ status: 'failure', result: 'Invalid Certificate Profile', subscriberId: null, requestId: null });
      expect(await issuedTo(who)).toBe(before);
    }
  });

  it('V5 POST /emca/v5/certificates with ocsp-signing: 400 Invalid Certificate Profile', async () => {
    const tokRes = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: open.userName, password: open.password }) }, env);
    const { token } = (await tokRes.json()) as { token: string };
    const r = await app.request(
      '/emca/v5/certificates',
      { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ profileName: 'ocsp-signing', csr: makeCsr('/CN=OCSP Responder').toString('base64'), applicationId: 'v5-attack' }) },
      env,
    );
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ status: 'failure', result: 'Invalid Certificate Profile' });
    expect(await issuedTo(open)).toBe(0);
  });

  it('the client still gets its end-entity profile, and system profiles are not listed to it', async () => {
    const ok = await call(app, listed, 'createCertificate', { signature: cmsSign(makeCsr('/CN=alice'), listed), profileName: 'tls-client', subscriberId: 's', applicationId: 'fine-1' });
    expect(ok.body.status).toBe('success');
    const list = await call(app, open, 'getCertificateProfileList', { signature: cmsSign(t.ctx.issuers.defaultIssuer()!.name, open) });
    expect(list.body.status).toBe('success');
    const names = JSON.stringify(list.body.result);
    expect(names).toContain('tls-client');
    expect(names).not.toContain('ocsp-signing');
    expect(names).not.toContain('emca-client-signing');
    const info = await call(app, listed, 'getProfileinfoByProfilename', { signature: cmsSign('ocsp-signing', listed) });
    expect(info.body.result).toBe('Invalid Certificate Profile name');
  });

  it('the operator still registers clients: their signing certificates come from the internal path', async () => {
    const rows = await t.ctx.db.select({ protocol: certificates.protocol }).from(certificates).where(eq(certificates.profile, 'emca-client-signing'));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((r) => r.protocol))).toEqual(new Set(['internal']));
  });
});

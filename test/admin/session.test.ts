/**
 * Console sign-in over the admin API: password login (scrypt hashes, the same refusal for every
 * kind of wrong credential, lock-out per operator and per address), whoami, operator passwords,
 * and the dashboard's aggregates compared with the database.
 */
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, certificates, principals } from '../../src/db/schema.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { EnrollmentRequest } from '../../src/issuance/request.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { call, cleanupWork, opensslCsr } from './helpers.ts';

afterAll(() => cleanupWork());

describe.each(drivers)('console sign-in and dashboard (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  let admin: string;
  const PASSWORD = 'a long enough password';

  const login = (username: string, password: string, a = app) => call(a, undefined, 'POST', '/auth/login', { username, password });
  const operatorWithPassword = async (name: string, role: 'auditor' | 'officer' | 'administrator', password = PASSWORD) => {
    expect((await call(app, admin, 'POST', '/operators', { name, role })).status).toBe(201);
    const r = await call(app, admin, 'PUT', `/operators/${name}/password`, { password });
    expect(r.status, r.text).toBe(200);
  };

  beforeAll(async () => {
    t = await makeTestContext(driver, { consoleSessionTtl: 600 });
    app = await buildApp(t.ctx, []);
    admin = await t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator('session-admin', 'administrator'), 3600);
  });
  afterAll(async () => t?.cleanup());

  it('stores an scrypt hash a separate scrypt call verifies; never the password, never in a response', async () => {
    await operatorWithPassword('hash-check', 'auditor');
    const [row] = await t.ctx.db.select().from(principals).where(eq(principals.name, 'hash-check'));
    const [alg, n, r, p, salt, hash] = row.passwordHash!.split('$');
    expect([alg, n, r, p]).toEqual(['scrypt', '32768', '8', '1']);
    const again = scryptSync(PASSWORD, Buffer.from(salt, 'base64'), 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(timingSafeEqual(again, Buffer.from(hash, 'base64'))).toBe(true);
    const ops = await call(app, admin, 'GET', '/operators');
    expect(ops.text).not.toContain(hash);
    expect(ops.text).not.toContain('passwordHash');
    const audit = await call(app, admin, 'GET', '/audit?action=operator.password');
    expect(audit.body[0].target).toBe('hash-check');
    expect(JSON.stringify(audit.body)).not.toContain(PASSWORD);
  });

  it('refuses short passwords and unknown operators', async () => {
    await t.ctx.tokens.ensureOperator('short-pw', 'auditor');
    const short = await call(app, admin, 'PUT', '/operators/short-pw/password', { password: 'too short' });
    expect(short.status).toBe(400);
    expect(short.body.message).toMatch(/^password: at least 12/);
    expect((await call(app, admin, 'PUT', '/operators/nobody-here/password', { password: PASSWORD })).status).toBe(404);
    expect((await call(app, admin, 'PUT', '/operators/short-pw/password', { password: PASSWORD, extra: 1 })).status).toBe(400);
    // Only people have passwords: not the local CLI credential, not an API client.
    await t.ctx.tokens.ensureOperator('robot', 'officer', 'api-client');
    await t.ctx.tokens.ensureOperator('local-cli', 'administrator', 'local');
    for (const name of ['robot', 'local-cli']) expect((await call(app, admin, 'PUT', `/operators/${name}/password`, { password: PASSWORD })).status).toBe(409);
  });

  it('a password login returns a short-lived token that carries the operator\'s role', async () => {
    await operatorWithPassword('officer-ola', 'officer');
    const r = await login('officer-ola', PASSWORD);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ operator: 'officer-ola', role: 'officer' });
    const ttl = (new Date(r.body.expiresAt).getTime() - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(601);
    const who = await call(app, r.body.token, 'GET', '/auth/whoami');
    expect(who.body).toMatchObject({ name: 'officer-ola', role: 'officer' });
    // The role decides, as for any token: an officer may not create operators.
    expect((await call(app, r.body.token, 'POST', '/operators', { name: 'x-ola', role: 'auditor' })).status).toBe(403);
    const [ok] = await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.action, 'operator.login')).orderBy(auditEvents.id);
    expect(ok).toMatchObject({ actor: 'operator:officer-ola', outcome: 'success' });
  });

  it('wrong password, unknown name, no password set, disabled operator: one answer (401), audited without the password', async () => {
    await operatorWithPassword('leaver', 'officer');
    expect((await call(app, admin, 'POST', '/operators/leaver/disable')).status).toBe(200);
    await t.ctx.tokens.ensureOperator('no-password', 'officer');
    await operatorWithPassword('typo', 'auditor');
    const answers = [await login('typo', `${PASSWORD}!`), await login('who-is-this', PASSWORD), await login('no-password', PASSWORD), await login('leaver', PASSWORD)];
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.body).toMatchObject({ error: 'Unauthorized', message: 'wrong username or password' });
    }
    const failures = await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.outcome, 'failure'));
    expect(failures.map((f) => f.target)).toEqual(expect.arrayContaining(['typo', 'who-is-this', 'no-password', 'leaver']));
    expect(JSON.stringify(failures)).not.toContain(PASSWORD);
    expect((await login('', 'x')).status).toBe(400);
    expect((await call(app, undefined, 'POST', '/auth/login', '{"username":"a\\u0000","password":"b"}')).status).toBe(400);
  });

  it('locks an operator out after five failures in a row (429 + Retry-After), even with the right password; a new password lifts it', async () => {
    await operatorWithPassword('guessed', 'auditor');
    for (let i = 0; i < 5; i++) expect((await login('guessed', `wrong ${i} password`)).status).toBe(401);
    const locked = await login('guessed', PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(25);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    // Another instance sees the same lock: it lives in the operator's row.
    const other = await buildApp(t.ctx, []);
    expect((await login('guessed', PASSWORD, other)).status).toBe(429);
    expect((await call(app, admin, 'PUT', '/operators/guessed/password', { password: 'a brand new password' })).status).toBe(200);
    expect((await login('guessed', 'a brand new password')).status).toBe(200);
  });

  it('limits failures per client address (20 per 10 minutes) whatever the names tried', async () => {
    const fresh = await buildApp(t.ctx, []);
    await operatorWithPassword('ip-victim', 'auditor');
    for (let i = 0; i < 20; i++) expect((await login(`spray-${i}`, 'some password', fresh)).status).toBe(401);
    const r = await login('ip-victim', PASSWORD, fresh);
    expect(r.status).toBe(429);
    expect(r.body.message).toMatch(/this address/);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(500);
    // The limit is this address's: the operator itself is not locked.
    expect((await login('ip-victim', PASSWORD)).status).toBe(200);
  }, 60_000);

  it('runs at most four password checks at once; the rest get 429 at once, not a queue', async () => {
    const fresh = await buildApp(t.ctx, []);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => login(`burst-${i}`, 'some password', fresh)));
    const statuses = answers.map((a) => a.status).sort();
    // Four run; the others arrive while they do (scrypt takes tens of ms; a slow machine may let one more in).
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(4);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(answers.find((a) => a.status === 429)!.body.message).toMatch(/at once/);
  });

  it('the dashboard counts what the database holds', async () => {
    const csr = opensslCsr('/CN=dash.example', ['DNS:dash.example']);
    const principal = { id: 'test:dash', protocol: 'cli', authenticatedBy: 'local' } as const;
    const issue = (profile: string) => t.ctx.pipeline.issue({ principal, profile, key: { kind: 'csr', der: Buffer.from(csr) } } satisfies EnrollmentRequest);
    const serials: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await issue('tls-server');
      if (r.status !== 'issued') throw new Error('not issued');
      serials.push(r.certificate.serial);
    }
    await t.ctx.revocation.revoke({ serial: serials[0] }, 'keyCompromise', 'test');
    await t.ctx.revocation.suspend({ serial: serials[1] }, 'test');
    await expect(issue('no-such-profile')).rejects.toThrow();
    await t.ctx.profiles.create({ ...(await t.ctx.profiles.get('tls-server')), name: 'dash-manual', manualApproval: true });
    const held = await issue('dash-manual');
    expect(held.status).toBe('pending');

    const auditor = await t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator('dash-auditor', 'auditor'), 600);
    const d = (await call(app, auditor, 'GET', '/dashboard?days=7&expiringDays=3650')).body;
    const [{ n: total }] = await t.ctx.db.select({ n: count() }).from(certificates);
    expect(d.certificates.total).toBe(Number(total));
    expect(d.certificates.revoked).toBeGreaterThanOrEqual(1);
    expect(d.certificates.hold).toBeGreaterThanOrEqual(1);
    expect(d.certificates.valid + d.certificates.revoked + d.certificates.hold + d.certificates.expired).toBe(d.certificates.total);
    const mine = d.issuance.filter((x: any) => x.protocol === 'cli');
    expect(mine).toEqual([{ day: new Date().toISOString().slice(0, 10), protocol: 'cli', profile: 'tls-server', count: 3 }]);
    expect(d.issuance.reduce((s: number, x: any) => s + x.count, 0)).toBe(Number(total));
    expect(d.pending.items.map((p: any) => p.id)).toContain((held as { requestId: string }).requestId);
    expect(d.expiring.items.every((c: any) => c.status === 'valid')).toBe(true);
    expect(d.crls.map((c: any) => c.issuerId).sort()).toEqual(['dev-issuing', 'dev-root']);
    expect(d.crls.every((c: any) => c.stale === false && c.number >= 1)).toBe(true);
    expect(d.errors.issuance).toContainEqual({ protocol: 'cli', profile: 'no-such-profile', result: 'unknownProfile', count: 1 });
    expect(d.errors.audit.some((a: any) => a.action === 'operator.login' && a.outcome === 'failure')).toBe(true);
    expect((await call(app, auditor, 'GET', '/dashboard?days=0')).status).toBe(400);
    expect((await call(app, undefined, 'GET', '/dashboard')).status).toBe(401);
  });
});

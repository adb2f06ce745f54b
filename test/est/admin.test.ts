/**
 * The EST admin routes the `certgate est` commands use: labels and Basic credentials, roles
 * (auditor reads, administrator writes), the password shown once and usable, disable → 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../support/context.ts';
import { b64, call, makeCsr, newKey, startEst, type EstHarness } from './helpers.ts';

describe.each(drivers)('EST admin API (%s)', (driver) => {
  let h: EstHarness;
  let admin: string;
  let auditor: string;
  const api = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${h.server.httpUrl}/api/v1/est${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });

  beforeAll(async () => {
    h = await startEst(driver);
    const t = h.t.ctx.tokens;
    admin = await t.issue(await t.ensureOperator('est-admin', 'administrator'), 3600);
    auditor = await t.issue(await t.ensureOperator('est-auditor', 'auditor'), 3600);
  }, 60_000);
  afterAll(() => h?.close());

  it('labels: add (administrator), list (auditor), refusals', async () => {
    expect((await api('nope', 'GET', '/labels')).status).toBe(401);
    expect((await api(auditor, 'POST', '/labels', { name: 'iot', profile: 'device' })).status).toBe(403);
    const r = await api(admin, 'POST', '/labels', { name: 'iot', profile: 'device', auth: 'basic', channelBinding: true });
    expect(r.status).toBe(201);
    expect(await r.json()).toMatchObject({ name: 'iot', profile: 'device', auth: 'basic', channelBinding: true });
    expect((await api(admin, 'POST', '/labels', { name: 'iot', profile: 'device' })).status).toBe(409);
    expect((await api(admin, 'POST', '/labels', { name: 'x', profile: 'no-such-profile' })).status).toBe(400);
    expect((await api(admin, 'POST', '/labels', { name: 'simpleenroll', profile: 'device' })).status).toBe(400);
    expect((await api(admin, 'POST', '/labels', { name: 'y', profile: 'device', auth: 'magic' })).status).toBe(400);
    const list = (await (await api(auditor, 'GET', '/labels')).json()) as { name: string }[];
    expect(list.map((l) => l.name)).toEqual(['default', 'iot']);
  });

  it('the admin OpenAPI document lists the EST routes', async () => {
    const doc = (await (await fetch(`${h.server.httpUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/est/labels', '/api/v1/est/users', '/api/v1/est/users/{label}/{name}/disable']));
  });

  it('users: the password is shown once and works; list never shows it; disable refuses it', async () => {
    const r = await api(admin, 'POST', '/users', { label: 'default', name: 'dev7' });
    expect(r.status).toBe(201);
    const { password } = (await r.json()) as { password: string };
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect((await api(admin, 'POST', '/users', { label: 'default', name: 'dev7' })).status).toBe(409);
    expect((await api(admin, 'POST', '/users', { label: 'nolabel', name: 'dev7' })).status).toBe(404);
    const listed = await (await api(auditor, 'GET', '/users?label=default')).text();
    expect(listed).toContain('dev7');
    expect(listed).not.toContain(password);

    const enrolOnce = () =>
      call(h, '/.well-known/est/simpleenroll', { body: b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'dev7.example' }] })), contentType: 'application/pkcs10', basic: ['dev7', password] });
    expect((await enrolOnce()).status).toBe(200);
    expect((await api(auditor, 'POST', '/users/default/dev7/disable')).status).toBe(403);
    expect((await api(admin, 'POST', '/users/default/dev7/disable')).status).toBe(200);
    expect((await enrolOnce()).status).toBe(401);
    expect((await api(admin, 'POST', '/users/default/ghost/disable')).status).toBe(404);
  });
});

/**
 * The ePassport admin API: least privilege per route, documented in the OpenAPI document, bad
 * input answered 4xx (never 5xx), and audit records for what changes the PKI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../support/context.ts';
import { startEpassport, type EpassportHarness } from './harness.ts';

describe.each(drivers)('ePassport admin API on %s', (driver) => {
  let h: EpassportHarness;
  let auditor: string;
  let officer: string;
  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${h.server.httpUrl}/api/v1/epassport${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    h = await startEpassport(driver);
    auditor = await h.t.ctx.tokens.issue(await h.t.ctx.tokens.ensureOperator('aud', 'auditor'), 3600);
    officer = await h.t.ctx.tokens.issue(await h.t.ctx.tokens.ensureOperator('off', 'officer'), 3600);
  });
  afterAll(async () => h?.close());

  it('least privilege: auditors read, officers register holders, administrators create authorities', async () => {
    expect((await as(auditor, 'POST', '/cvcas', { chr: 'ADCVCA00001' })).status).toBe(403);
    expect((await as(officer, 'POST', '/cvcas', { chr: 'ADCVCA00001' })).status).toBe(403);
    expect((await h.admin('POST', '/cvcas', { chr: 'ADCVCA00001', curve: 'P-384' })).status).toBe(201);
    expect((await as(auditor, 'GET', '/authorities')).body.authorities).toEqual([{ holder: 'ADCVCA', kind: 'cvca', terminalType: 'is', curve: 'P-384' }]);
    expect((await h.admin('PUT', '/profiles/p', { role: 'dv_domestic', terminalType: 'is', chat: '03', maxValidityDays: 10 })).status).toBe(200);
    expect((await as(auditor, 'POST', '/holders', { holder: 'ADDV', role: 'dv_domestic', authority: 'ADCVCA', profile: 'p' })).status).toBe(403);
    expect((await as(officer, 'POST', '/holders', { holder: 'ADDV', role: 'dv_domestic', authority: 'ADCVCA', profile: 'p' })).status).toBe(201);
    const audit = await h.t.ctx.database.query<{ action: string; actor: string }>("select action, actor from audit_events where action like 'epassport.%' order by id");
    expect(audit.map((a) => a.action)).toEqual(['epassport.cvca.create', 'epassport.profile.put', 'epassport.holder.register']);
    expect(audit[2].actor).toBe('operator:off');
  });

  it.each([
    ['POST', '/cvcas', { chr: 'bad' }],
    ['POST', '/cvcas', { chr: 'ADCVCA00009', curve: 'secp256k1' }],
    ['POST', '/cvcas', { chr: 'ADCVCA00001' }],
    ['POST', '/cvcas', { chr: 'XX\u0000CVCA00001' }],
    ['POST', '/dvs', { chr: 'ADDVIS00001', cvca: 'NOPE' }],
    ['POST', '/dvs', { chr: 'ADDVIS00001', cvca: 'ADCVCA', rights: 'zz' }],
    ['PUT', '/profiles/x', { role: 'cvca', terminalType: 'is', chat: '03', maxValidityDays: 1 }],
    ['PUT', '/profiles/x', { role: 'terminal', terminalType: 'at', chat: '03', maxValidityDays: 1 }],
    ['POST', '/holders', { holder: 'ADT', role: 'terminal', authority: 'ADCVCA', profile: 'p' }],
    ['POST', '/certificates/import', { certificate: 'AAAA' }],
    ['POST', '/certificates/import', { certificate: 42 }],
    ['POST', '/requests', { certReq: 'fyE=' }],
    ['POST', '/ds-lists', { list: 'MAA=' }],
    ['POST', '/cvcas/NOPE/rollover', {}],
  ])('%s %s with bad input → 4xx with a message', async (method, path, body) => {
    const r = await h.admin(method, path, body);
    expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(typeof r.body.message).toBe('string');
  });

  it('the OpenAPI document lists the admin routes with their roles and the message endpoints', async () => {
    const doc = (await (await fetch(`${h.server.httpUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { 'x-required-role'?: string }>> };
    const paths = Object.keys(doc.paths).filter((p) => p.includes('epassport'));
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/epassport/cvcas', '/api/v1/epassport/cvcas/{holder}/rollover', '/api/v1/epassport/holders', '/api/v1/epassport/ds-lists', '/epassport/v5/requestCertificate']));
    expect(doc.paths['/api/v1/epassport/holders'].post['x-required-role']).toBe('officer');
    expect(doc.paths['/api/v1/epassport/cvcas'].post['x-required-role']).toBe('administrator');
  });
});

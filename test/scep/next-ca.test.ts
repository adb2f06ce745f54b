/**
 * GetNextCACert (RFC 8894 §3.5.2, §4.7) during a CA rollover an operator announces with
 * `PATCH /api/v1/issuers/<id> {successorId}` (what `certgate issuer rollover` sends): GetCACaps
 * lists GetNextCACert only then; the answer is SignedData by the current SCEP signer (the RA,
 * chained to the current CA) around the next CA's degenerate certificates-only SignedData.
 * Checked with `openssl cms -verify` (against the current root) and `openssl pkcs7 -print_certs`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../support/context.ts';
import { openssl, writePem } from '../support/openssl.ts';
import { roleTokens } from '../admin/helpers.ts';
import { startScep, type ScepHarness } from './harness.ts';

describe.each(drivers)('SCEP GetNextCACert (%s)', (driver) => {
  let h: ScepHarness;
  let admin: string;
  const patch = async (id: string, body: unknown) => {
    const r = await fetch(`${h.server.httpUrl}/api/v1/issuers/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const caps = async () => (await h.get('/scep?operation=GetCACaps')).body.toString().trim().split('\n');

  beforeAll(async () => {
    h = await startScep(driver);
    admin = (await roleTokens(h.t.ctx)).administrator;
    await h.t.ctx.issuers.create({ id: 'dev-issuing-next', name: 'Dev Issuing CA (next)', key: { type: 'EC', curve: 'P-256' }, parentId: 'dev-root', validityDays: 3650, isDefault: false });
  }, 60_000);
  afterAll(async () => h?.close());

  it('no rollover announced: GetCACaps does not list GetNextCACert, and GetNextCACert is 404', async () => {
    expect(await caps()).not.toContain('GetNextCACert');
    const r = await h.get('/scep?operation=GetNextCACert');
    expect(r.status).toBe(404);
  });

  it('the admin API refuses a successor that is unknown or the issuer itself', async () => {
    expect((await patch('dev-issuing', { successorId: 'nope' })).status).toBe(400);
    expect((await patch('dev-issuing', { successorId: 'dev-issuing' })).status).toBe(400);
    expect(await caps()).not.toContain('GetNextCACert');
  });

  it('rollover announced: GetCACaps lists it; the next CA comes signed by the current RA, verified by openssl', async () => {
    const set = await patch('dev-issuing', { successorId: 'dev-issuing-next' });
    expect(set.status).toBe(200);
    expect(set.body.successorId).toBe('dev-issuing-next');
    expect(await caps()).toContain('GetNextCACert');
    const r = await h.get('/scep?operation=GetNextCACert');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/x-x509-next-ca-cert');
    const file = join(h.dir, 'next.p7');
    writeFileSync(file, r.body);
    const inner = join(h.dir, 'next-inner.p7');
    // The signature chains to the root the client already trusts (through the current RA and CA).
    const v = openssl(['cms', '-verify', '-inform', 'DER', '-in', file, '-CAfile', h.rootFile, '-purpose', 'any', '-binary', '-out', inner]);
    expect(v.status, v.output).toBe(0);
    const signer = openssl(['cms', '-verify', '-inform', 'DER', '-in', file, '-noverify', '-signer', join(h.dir, 'signer.pem'), '-out', '/dev/null']);
    expect(signer.status, signer.output).toBe(0);
    expect(openssl(['x509', '-in', join(h.dir, 'signer.pem'), '-noout', '-subject']).output).toMatch(/Certgate SCEP RA/);
    const printed = openssl(['pkcs7', '-inform', 'DER', '-in', inner, '-print_certs']);
    expect(printed.status, printed.output).toBe(0);
    expect(printed.output).toMatch(/subject=CN = Dev Issuing CA \(next\)/);
    const next = (await h.t.ctx.issuers.get('dev-issuing-next'))!;
    const nextFile = writePem(h.dir, 'next.pem', next.certDer);
    expect(printed.output.replace(/\r/g, '')).toContain(openssl(['x509', '-in', nextFile]).stdout.trim());
    expect(openssl(['verify', '-CAfile', h.rootFile, nextFile]).status).toBe(0);
  });

  it('the announcement ended (successorId null): back to no GetNextCACert', async () => {
    expect((await patch('dev-issuing', { successorId: null })).body.successorId).toBe(null);
    expect(await caps()).not.toContain('GetNextCACert');
    expect((await h.get('/scep?operation=GetNextCACert')).status).toBe(404);
  });
});

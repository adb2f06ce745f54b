import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import { buildApp } from '../../src/server.ts';
import { parseCrl } from '../../src/pki/crl.ts';
import type { Principal } from '../../src/issuance/request.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { openssl, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';
import { eq } from 'drizzle-orm';
import { expectIssued, freshSpki } from '../issuance/helpers.ts';

const who: Principal = { id: 'operator:test', protocol: 'admin', authenticatedBy: 'local' };

describe.each(drivers)('delta and partitioned CRLs (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  });
  afterAll(async () => {
    await t?.cleanup();
    removeTempDirs();
  });

  const issue = async (cn: string) =>
    expectIssued(
      await t.ctx.pipeline.issue({
        principal: who,
        profile: 'tls-server',
        key: { kind: 'spki', der: freshSpki(), pop: 'verified-by-protocol' },
        subject: [{ type: 'CN', value: cn }],
        sans: [{ type: 'dns', value: cn }],
      }),
    );

  it('pages through a revoked set larger than one page and lists every entry once', async () => {
    const issuer = t.ctx.issuers.peek('dev-issuing')!;
    const now = new Date();
    const far = new Date(now.getTime() + 86400_000);
    const serials: string[] = [];
    for (let i = 0; i < 10_050; i += 1000) {
      const rows = Array.from({ length: Math.min(1000, 10_050 - i) }, () => {
        const s = randomBytes(16);
        s[0] = (s[0] & 0x7f) | 0x01;
        serials.push(s.toString('hex'));
        return { id: randomUUID(), issuerId: issuer.id, serial: s.toString('hex'), der: Buffer.alloc(1), subject: 'CN=fixture', notBefore: now, notAfter: far, profile: 'tls-server', status: 'revoked', revokedAt: now, revocationReason: 4, spkiSha256: 'x', protocol: 'internal', principal: 'test' };
      });
      await t.ctx.db.insert(certificates).values(rows);
    }
    const crl = await t.ctx.crls.generate('dev-issuing');
    const listed = parseCrl(crl.der).entries.map((e) => e.serialHex);
    expect(listed.length).toBe(new Set(listed).size);
    expect(new Set(listed)).toEqual(new Set(serials));
    const dir = tempDir();
    expect(openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, 'big.crl', crl.der), '-noout', '-crlnumber']).status).toBe(0);
    // Clean up so the next tests see an empty revoked set.
    await t.ctx.db.delete(certificates).where(eq(certificates.subject, 'CN=fixture'));
  });

  it('publishes deltas against the newest complete CRL and openssl combines them', async () => {
    await t.ctx.issuers.updateOptions('dev-issuing', { deltaCrlHours: 1 });
    const a = await issue('a.delta.example');
    const b = await issue('b.delta.example');
    const c = await issue('c.delta.example');
    const base = await t.ctx.crls.generate('dev-issuing');
    expect(parseCrl(base.der).entries).toHaveLength(0);

    await t.ctx.revocation.revoke({ serial: a.certificate.serial }, 'keyCompromise', 'test');
    await t.ctx.revocation.suspend({ serial: b.certificate.serial }, 'test');
    const delta = (await t.ctx.crls.latest('dev-issuing', 0, true))!;
    expect(delta.baseNumber).toBe(base.number);
    expect(delta.number).toBeGreaterThan(base.number);
    const parsed = parseCrl(delta.der);
    expect(parsed.isDelta).toBe(true);
    expect(Number(parsed.baseNumber)).toBe(base.number);
    expect(new Map(parsed.entries.map((e) => [e.serialHex, e.reason]))).toEqual(
      new Map([
        [a.certificate.serial, 1],
        [b.certificate.serial, 6],
      ]),
    );
    // The complete CRL was not rebuilt (deltas carry changes); it points at the delta.
    const stillBase = (await t.ctx.crls.latest('dev-issuing'))!;
    expect(stillBase.number).toBe(base.number);

    const dir = tempDir();
    const root = writePem(dir, 'root.pem', a.chain[1]);
    const issuing = writePem(dir, 'issuing.pem', a.chain[0]);
    const baseFile = writePem(dir, 'base.pem', base.der, 'X509 CRL');
    const deltaFile = writePem(dir, 'delta.pem', delta.der, 'X509 CRL');
    const text = openssl(['crl', '-in', deltaFile, '-noout', '-text']).stdout;
    expect(text).toMatch(/Delta CRL Indicator: critical\s+\d+/);
    expect(openssl(['crl', '-in', baseFile, '-noout', '-text']).stdout).toContain('Freshest CRL');
    const verify = (leaf: Uint8Array) =>
      openssl(['verify', '-crl_check', '-use_deltas', '-CAfile', root, '-untrusted', issuing, '-CRLfile', baseFile, '-CRLfile', deltaFile, writePem(dir, 'leaf.pem', leaf)]);
    expect(verify(a.certificate.der).output).toContain('certificate revoked');
    expect(verify(b.certificate.der).output).toContain('certificate revoked');
    expect(verify(c.certificate.der).status).toBe(0);

    // A new complete CRL holds the suspension; lifting it puts removeFromCRL in the next delta.
    const base2 = await t.ctx.crls.generate('dev-issuing');
    expect(parseCrl(base2.der).entries.map((e) => e.serialHex).sort()).toEqual([a.certificate.serial, b.certificate.serial].sort());
    await t.ctx.revocation.reinstate({ serial: b.certificate.serial }, 'test');
    const delta2 = (await t.ctx.crls.latest('dev-issuing', 0, true))!;
    expect(delta2.baseNumber).toBe(base2.number);
    expect(parseCrl(delta2.der).entries).toEqual([expect.objectContaining({ serialHex: b.certificate.serial, reason: 8 })]);
    const base2File = writePem(dir, 'base2.pem', base2.der, 'X509 CRL');
    const delta2File = writePem(dir, 'delta2.pem', delta2.der, 'X509 CRL');
    expect(openssl(['crl', '-in', delta2File, '-noout', '-text']).stdout).toContain('Remove From CRL');
    const again = openssl(['verify', '-crl_check', '-use_deltas', '-CAfile', root, '-untrusted', issuing, '-CRLfile', base2File, '-CRLfile', delta2File, writePem(dir, 'b.pem', b.certificate.der)]);
    expect(again.status, again.output).toBe(0);

    // Served over HTTP next to the complete CRL.
    const app = await buildApp(t.ctx, []);
    const res = await app.request('/crl/dev-issuing-delta.crl');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(delta2.der)).toBe(true);
    expect((await app.request('/crl/dev-root-delta.crl')).status).toBe(404);
    expect((await app.request('/crl/no-such-issuer.crl')).status).toBe(404);
    await t.ctx.issuers.updateOptions('dev-issuing', {});
  });

  it('fixes each certificate to a partition and publishes that partition with an issuing distribution point', async () => {
    await t.ctx.issuers.updateOptions('dev-issuing', { crlPartitions: 3 });
    const certs = await Promise.all(Array.from({ length: 12 }, (_, i) => issue(`p${i}.part.example`)));
    const dir = tempDir();
    const seen = new Set<number>();
    for (const c of certs) {
      const text = openssl(['x509', '-noout', '-ext', 'crlDistributionPoints', '-in', writePem(dir, 'c.pem', c.certificate.der)]).stdout;
      const m = /crl\/dev-issuing-p(\d)\.crl/.exec(text);
      expect(m, text).not.toBeNull();
      seen.add(Number(m![1]));
    }
    expect([...seen].every((p) => p >= 1 && p <= 3)).toBe(true);
    const victim = certs[0];
    const part = Number(/-p(\d)\.crl/.exec(openssl(['x509', '-noout', '-ext', 'crlDistributionPoints', '-in', writePem(dir, 'v.pem', victim.certificate.der)]).stdout)![1]);
    await t.ctx.revocation.revoke({ serial: victim.certificate.serial }, 'superseded', 'test');
    const partCrl = (await t.ctx.crls.latest('dev-issuing', part))!;
    expect(parseCrl(partCrl.der).entries.map((e) => e.serialHex)).toContain(victim.certificate.serial);
    const complete = (await t.ctx.crls.latest('dev-issuing'))!;
    expect(parseCrl(complete.der).entries.map((e) => e.serialHex)).toContain(victim.certificate.serial);
    for (const other of [1, 2, 3].filter((p) => p !== part)) {
      const crl = (await t.ctx.crls.latest('dev-issuing', other))!;
      expect(parseCrl(crl.der).entries.map((e) => e.serialHex)).not.toContain(victim.certificate.serial);
    }
    const partFile = writePem(dir, 'part.pem', partCrl.der, 'X509 CRL');
    expect(openssl(['crl', '-in', partFile, '-noout', '-text']).stdout).toMatch(/Issuing Distribution Point: critical[\s\S]*dev-issuing-p\d\.crl[\s\S]*Only User Certificates/);
    const root = writePem(dir, 'root.pem', victim.chain[1]);
    const issuing = writePem(dir, 'issuing.pem', victim.chain[0]);
    const r = openssl(['verify', '-crl_check', '-CAfile', root, '-untrusted', issuing, '-CRLfile', partFile, writePem(dir, 'victim.pem', victim.certificate.der)]);
    expect(r.output).toContain('certificate revoked');
    const sibling = certs.find((c) => c !== victim && openssl(['x509', '-noout', '-ext', 'crlDistributionPoints', '-in', writePem(dir, 's.pem', c.certificate.der)]).stdout.includes(`-p${part}.crl`));
    if (sibling) {
      const ok = openssl(['verify', '-crl_check', '-CAfile', root, '-untrusted', issuing, '-CRLfile', partFile, writePem(dir, 'sib.pem', sibling.certificate.der)]);
      expect(ok.status, ok.output).toBe(0);
    }
    const app = await buildApp(t.ctx, []);
    expect((await app.request(`/crl/dev-issuing-p${part}.crl`)).status).toBe(200);
    expect((await app.request('/crl/dev-issuing-p9.crl')).status).toBe(404);
    // Scheduled refresh covers every partition in use, in one instance at a time.
    const refreshed = await t.ctx.crls.refreshDue();
    expect(Array.isArray(refreshed)).toBe(true);
    await t.ctx.issuers.updateOptions('dev-issuing', {});
  });
});

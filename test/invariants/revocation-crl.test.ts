/**
 * Invariant 4 (DESIGN.md): revocation, suspension (certificateHold) and reinstatement are visible
 * in the next CRL at once; CRL numbers strictly increase. Each CRL is read twice: by
 * `openssl crl -inform DER -text` and by our own parseCrl.
 */
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crls } from '../../src/db/schema.ts';
import { revocationReasons } from '../../src/pki/oids.ts';
import { parseCrl } from '../../src/pki/crl.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { crlSerialsFromText, crlText, makeCsr, openssl, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';
import { issueCsr, type Issued } from '../issuance/helpers.ts';

afterAll(() => removeTempDirs());

const ISSUER = 'dev-issuing';

describe.each(drivers)('invariant 4: revocation shows in the next CRL (%s)', (driver) => {
  let t: TestContext;
  let certs: Issued[];
  const numbers: bigint[] = [];

  /** The latest CRL, checked by openssl (signature against the issuer too) and parsed by parseCrl. */
  async function latestCrl() {
    const stored = await t.ctx.crls.latest(ISSUER);
    expect(stored).toBeDefined();
    const der = stored!.der;
    const parsed = parseCrl(der);
    const text = crlText(der);
    const dir = tempDir();
    const issuerPem = writePem(dir, 'issuer.pem', t.ctx.issuers.peek(ISSUER)!.certDer);
    const verify = openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, 'crl.der', der), '-CAfile', issuerPem, '-noout']);
    expect(verify.status, verify.output).toBe(0);
    expect(verify.output).toMatch(/verify OK/);
    expect(parsed.number).toBe(BigInt(stored!.number));
    expect(text).toMatch(new RegExp(`X509v3 CRL Number:\\s*\\n\\s*${stored!.number}\\b`));
    numbers.push(parsed.number!);
    return { stored: stored!, parsed, text, opensslSerials: crlSerialsFromText(text) };
  }

  beforeAll(async () => {
    t = await makeTestContext(driver);
    certs = [];
    for (let i = 0; i < 3; i++) {
      const csr = makeCsr({ subject: `/CN=r${i}.example.com`, sans: [`DNS:r${i}.example.com`] });
      certs.push(await issueCsr(t.ctx, 'tls-server', csr.der));
    }
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('a fresh CRL lists nothing', async () => {
    const c = await latestCrl();
    expect(c.parsed.entries).toHaveLength(0);
    expect(c.opensslSerials).toHaveLength(0);
    expect(c.text).toMatch(/No Revoked Certificates/);
  });

  it('a revocation is in the CRL as soon as revoke() returns, with its reason', async () => {
    const victim = certs[0].certificate;
    await t.ctx.revocation.revoke({ serial: victim.serial, issuerId: ISSUER }, 'keyCompromise', 'operator:test');
    const c = await latestCrl();
    const entry = c.parsed.entries.find((e) => e.serialHex === victim.serial);
    expect(entry, 'revoked serial in parseCrl entries').toBeDefined();
    expect(entry!.reason).toBe(revocationReasons.keyCompromise);
    expect(c.opensslSerials).toContain(victim.serial);
    expect(c.text).toMatch(/Key Compromise/);
    expect(c.parsed.entries.map((e) => e.serialHex)).not.toContain(certs[1].certificate.serial);
  });

  it('a suspension shows as certificateHold', async () => {
    const held = certs[1].certificate;
    await t.ctx.revocation.suspend({ serial: held.serial, issuerId: ISSUER }, 'operator:test');
    const c = await latestCrl();
    const entry = c.parsed.entries.find((e) => e.serialHex === held.serial);
    expect(entry).toBeDefined();
    expect(entry!.reason).toBe(revocationReasons.certificateHold);
    expect(c.opensslSerials).toEqual(expect.arrayContaining([held.serial, certs[0].certificate.serial]));
    expect(c.text).toMatch(/Certificate Hold/);
  });

  it('reinstatement removes the entry from the next CRL; the permanent revocation stays', async () => {
    const held = certs[1].certificate;
    await t.ctx.revocation.reinstate({ serial: held.serial, issuerId: ISSUER }, 'operator:test');
    const c = await latestCrl();
    expect(c.parsed.entries.map((e) => e.serialHex)).not.toContain(held.serial);
    expect(c.opensslSerials).not.toContain(held.serial);
    expect(c.opensslSerials).toContain(certs[0].certificate.serial);
    expect(c.text).not.toMatch(/Certificate Hold/);
  });

  it('a revoked certificate cannot be suspended, reinstated or revoked again', async () => {
    const ref = { serial: certs[0].certificate.serial, issuerId: ISSUER };
    await expect(t.ctx.revocation.revoke(ref, 'superseded', 'operator:test')).rejects.toMatchObject({ code: 'conflict' });
    await expect(t.ctx.revocation.suspend(ref, 'operator:test')).rejects.toMatchObject({ code: 'conflict' });
    await expect(t.ctx.revocation.reinstate(ref, 'operator:test')).rejects.toMatchObject({ code: 'conflict' });
    await expect(t.ctx.revocation.revoke(ref, 'removeFromCRL', 'operator:test')).rejects.toMatchObject({ code: 'malformed' });
  });

  it('CRL numbers strictly increase, in the CRLs and in the crls table', async () => {
    // Concurrent regenerations still hand out distinct, increasing numbers.
    await Promise.all(Array.from({ length: 10 }, () => t.ctx.crls.generate(ISSUER)));
    // Three concurrent revocations of one certificate: one wins, the others see it revoked.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, () => t.ctx.revocation.revoke({ serial: certs[2].certificate.serial, issuerId: ISSUER }, 'superseded', 'operator:test')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'conflict' });
    await latestCrl();
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]);

    const rows = await t.ctx.db.select({ number: crls.number, der: crls.der }).from(crls).where(eq(crls.issuerId, ISSUER)).orderBy(asc(crls.id));
    const seq = rows.map((r) => r.number);
    expect(new Set(seq).size).toBe(seq.length);
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThan(seq[i - 1]);
    for (const r of rows) expect(parseCrl(r.der).number).toBe(BigInt(r.number));
    // The CRL whose number is highest lists the last revocation.
    const last = parseCrl(rows[rows.length - 1].der);
    expect(last.entries.map((e) => e.serialHex)).toContain(certs[2].certificate.serial);
  });
});

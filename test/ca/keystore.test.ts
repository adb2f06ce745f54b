/** The software key store: keys opened by reference, sealed at rest, signers and RSA decrypters. */
import { constants, createPrivateKey, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerKeyRef, SoftwareKeyStore } from '../../src/ca/keystore.ts';
import { issuers, sealedKeys } from '../../src/db/schema.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

describe.each(drivers)('SoftwareKeyStore (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  }, 60_000);
  afterAll(async () => t?.cleanup());

  it('opens an issuer key by its reference; a row without one (before references) derives it', async () => {
    await t.ctx.db.update(issuers).set({ keyRef: null }).where(eq(issuers.id, 'dev-issuing'));
    await t.ctx.issuers.load();
    const issuer = (await t.ctx.issuers.get('dev-issuing'))!;
    expect(issuer.keyRef).toBe(issuerKeyRef('dev-issuing'));
    const fresh = new SoftwareKeyStore(t.ctx.db, t.ctx.kek);
    const h = await fresh.open(issuer.keyRef);
    const sig = await h.signer.sign(Buffer.from('x'));
    expect(verify(null, Buffer.from('x'), issuer.signer.publicKey, sig) || verify('sha256', Buffer.from('x'), issuer.signer.publicKey, sig) || verify('sha384', Buffer.from('x'), issuer.signer.publicKey, sig)).toBe(true);
  });

  it('generates a key that another instance opens from the database, sealed (no PKCS#8 in the clear)', async () => {
    const h = await t.ctx.keys.generate({ type: 'RSA', bits: 2048 }, 'test:rsa');
    expect(h.keyRef).toMatch(/^sealed:key:[0-9a-f-]{36}$/);
    const [row] = await t.ctx.db.select().from(sealedKeys).where(eq(sealedKeys.keyRef, h.keyRef));
    expect(row).toMatchObject({ label: 'test:rsa', keyAlgorithm: 'RSA 2048' });
    // The stored blob is not a key.
    expect(() => createPrivateKey({ key: Buffer.from(row.sealed), format: 'der', type: 'pkcs8' })).toThrow();
    const other = await new SoftwareKeyStore(t.ctx.db, t.ctx.kek).open(h.keyRef);
    const secret = randomBytes(32);
    const ct = publicEncrypt({ key: h.signer.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, secret);
    expect((await other.decrypter!.decrypt(ct, { kind: 'oaep', hash: 'sha1' })).equals(secret)).toBe(true);
  });

  it('EC keys sign and have no decrypter', async () => {
    const h = await t.ctx.keys.generate({ type: 'EC', curve: 'P-256' }, 'test:ec');
    expect(h.decrypter).toBeUndefined();
    expect(verify('sha256', Buffer.from('y'), h.signer.publicKey, await h.signer.sign(Buffer.from('y')))).toBe(true);
  });

  it('RSA software keys sign RSASSA-PSS too (issuer option rsa-pss); EC keys refuse it', async () => {
    const h = await t.ctx.keys.generate({ type: 'RSA', bits: 2048 }, 'test:pss');
    const pss = h.signer.asPss!();
    const data = Buffer.from('pss data');
    const sig = await pss.sign(data);
    expect(verify('sha256', data, { key: pss.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)).toBe(true);
    expect(verify('sha256', data, pss.publicKey, sig)).toBe(false); // not PKCS#1 v1.5
    expect(pss.algorithmIdentifier.toString('hex')).toContain('06092a864886f70d01010a'); // id-RSASSA-PSS
    const ec = await t.ctx.keys.generate({ type: 'EC', curve: 'P-256' }, 'test:ec-pss');
    expect(() => ec.signer.asPss!()).toThrow(/RSASSA-PSS/);
  });

  it('refuses with a wrong KEK, an unknown reference, and a reference of another store', async () => {
    const h = await t.ctx.keys.generate({ type: 'EC', curve: 'P-256' }, 'test:kek');
    await expect(new SoftwareKeyStore(t.ctx.db, randomBytes(32)).open(h.keyRef)).rejects.toThrow(/cannot unseal/);
    await expect(t.ctx.keys.open('sealed:key:00000000-0000-4000-8000-000000000000')).rejects.toThrow(/not in the key store/);
    await expect(t.ctx.keys.open('pkcs11:token=x;object=y')).rejects.toThrow(/no PKCS#11 module is configured/);
    const [n] = await t.ctx.db.select({ n: sql<number>`count(*)::int` }).from(sealedKeys);
    expect(n.n).toBeGreaterThanOrEqual(3);
  });
});

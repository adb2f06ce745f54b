/**
 * Backup → wipe → restore, on each driver and from one driver to the other: the restored Certgate holds the same certificates,
 * revocations and CRLs, answers OCSP and serves the CRL exactly as before, signs with the restored
 * keys (a new certificate verifies with openssl against the old root), and continues its CRL
 * numbers and sequences without reuse.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asc, desc, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { backupToFile } from '../../src/backup/create.ts';
import { fileSource } from '../../src/backup/sealed-stream.ts';
import { readArchive } from '../../src/backup/read-archive.ts';
import { certificates, crls, revocations } from '../../src/db/schema.ts';
import { openssl } from '../ocsp/helpers.ts';
import { drivers, makeTestEnv, type Driver } from '../support/context.ts';
import { issue, ocspStatus, restoreFile, run, secret, workDir } from './helpers.ts';

const w = workDir();
afterAll(() => w.done());

/** Each driver onto itself; with PostgreSQL available, PGlite → PostgreSQL and back as well. */
const pairs: [Driver, Driver][] = [
  ...drivers.map((d): [Driver, Driver] => [d, d]),
  ...(process.env.DATABASE_URL && drivers.includes('postgres') ? ([['pglite', 'postgres'], ['postgres', 'pglite']] as [Driver, Driver][]) : []),
];

describe.each(pairs)('backup on %s, restore on %s', (from, to) => {
  const driver = `${from}-${to}`;
  it('restores certificates, revocations, CRLs, OCSP answers and usable keys; numbers continue', async () => {
    const src = await makeTestEnv(from);
    const a = await run(src.config);
    const { ctx } = a;
    const leaves = [await issue(ctx), await issue(ctx), await issue(ctx)];
    await ctx.revocation.revoke({ serial: leaves[0].serial, issuerId: 'dev-issuing' }, 'keyCompromise', 'test');
    await ctx.revocation.suspend({ serial: leaves[1].serial, issuerId: 'dev-issuing' }, 'test');
    await ctx.crls.regenerate('dev-issuing');
    const issuing = ctx.issuers.peek('dev-issuing')!;
    const rootFile = w.pem(`${driver}-root.pem`, ctx.issuers.peek('dev-root')!.certDer);
    const issuerFile = w.pem(`${driver}-issuing.pem`, issuing.certDer);
    const leafFiles = leaves.map((l, i) => w.pem(`${driver}-leaf${i}.pem`, l.der));
    const before = {
      certs: await ctx.db.select().from(certificates).orderBy(asc(certificates.id)),
      revs: await ctx.db.select().from(revocations).orderBy(asc(revocations.id)),
      crl: Buffer.from(await (await fetch(`${a.server.httpUrl}/crl/dev-issuing.crl`)).arrayBuffer()),
      crlNumber: (await ctx.crls.latest('dev-issuing'))!.number,
      ocsp: [] as string[],
    };
    for (const f of leafFiles) before.ocsp.push(await ocspStatus(`${a.server.httpUrl}/ocsp`, issuerFile, f, rootFile));
    expect(before.ocsp[0]).toMatch(/revoked/);
    expect(before.ocsp[0]).toMatch(/keyCompromise/i);
    expect(before.ocsp[1]).toMatch(/certificateHold/i);
    expect(before.ocsp[2]).toMatch(/: good/);

    const file = join(w.dir, `${driver}.cgbk`);
    const made = await backupToFile(ctx, file, secret);
    expect(made.manifest.tables.find((t) => t.name === 'certificates')!.rows).toBe(before.certs.length);
    expect(made.manifest.tables.find((t) => t.name === 'revocations')!.rows).toBe(2);
    expect(made.manifest.tables.map((t) => t.name)).toEqual(expect.arrayContaining(['ocsp_responders', 'sealed_keys', 'settings', 'acme_orders', 'issuers']));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The archive is ciphertext: neither the KEK nor a certificate's bytes appear in it.
    const raw = readFileSync(file);
    expect(raw.includes(ctx.kek.toString('base64'))).toBe(false);
    expect(raw.includes(Buffer.from(leaves[2].der))).toBe(false);
    const verified = await readArchive(fileSource(file), secret);
    expect(verified.manifest).toEqual(made.manifest);

    // Wipe: the server, its database and its data directory are gone.
    await a.stop();
    await src.cleanup();

    const dst = await makeTestEnv(to);
    try {
      const restored = await restoreFile(file, { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl });
      expect(restored.kekWritten).toBe(join(dst.dataDir, 'kek'));
      expect(statSync(restored.kekWritten!).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dst.dataDir, 'tls'))).toBe(false); // https was off: no server certificate to carry
      const b = await run(dst.config);
      try {
        await expectSameState(b, before, { leafFiles, issuerFile, rootFile, issuingId: 'dev-issuing' });
        await expectContinues(b, before, leaves, { rootFile, issuerFile });
      } finally {
        await b.stop();
      }
    } finally {
      await dst.cleanup();
    }
  }, 300_000);
});

/** Rows as driver-neutral JSON: bytea is a Buffer from postgres.js and a Uint8Array from PGlite. */
function plain(rows: unknown[]): unknown {
  return JSON.parse(
    JSON.stringify(rows, (_k, v) => {
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('hex');
      return v;
    }),
  );
}

type Before = { certs: (typeof certificates.$inferSelect)[]; revs: (typeof revocations.$inferSelect)[]; crl: Buffer; crlNumber: number; ocsp: string[] };

async function expectSameState(b: Awaited<ReturnType<typeof run>>, before: Before, f: { leafFiles: string[]; issuerFile: string; rootFile: string; issuingId: string }) {
  expect(plain(await b.ctx.db.select().from(certificates).orderBy(asc(certificates.id)))).toEqual(plain(before.certs));
  expect(plain(await b.ctx.db.select().from(revocations).orderBy(asc(revocations.id)))).toEqual(plain(before.revs));
  const crl = Buffer.from(await (await fetch(`${b.server.httpUrl}/crl/${f.issuingId}.crl`)).arrayBuffer());
  expect(crl.equals(before.crl)).toBe(true);
  for (const [i, file] of f.leafFiles.entries()) expect(await ocspStatus(`${b.server.httpUrl}/ocsp`, f.issuerFile, file, f.rootFile)).toBe(before.ocsp[i]);
}

async function expectContinues(b: Awaited<ReturnType<typeof run>>, before: Before, leaves: { serial: string }[], f: { rootFile: string; issuerFile: string }) {
  const { ctx } = b;
  // The restored issuing key signs: a new certificate chains to the old root (openssl verify).
  const fresh = await issue(ctx);
  const freshFile = w.pem(`fresh-${Date.now()}.pem`, fresh.der);
  const v = await openssl(['verify', '-CAfile', f.rootFile, '-untrusted', f.issuerFile, freshFile]);
  expect(v.out).toMatch(/: OK/);
  expect(before.certs.map((c) => c.serial)).not.toContain(fresh.serial);
  // The next CRL number follows the old one; the new CRL verifies under the restored key.
  const next = await ctx.crls.regenerate('dev-issuing');
  expect(next.number).toBeGreaterThan(before.crlNumber);
  const crlFile = join(w.dir, `next-${Date.now()}.crl`);
  writeFileSync(crlFile, next.der);
  const c = await openssl(['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', f.issuerFile, '-noout', '-text']);
  expect(c.out).toMatch(/verify OK/);
  expect(c.out).toMatch(new RegExp(`CRL Number: \\s*${next.number}\\b`));
  expect(c.out.toLowerCase()).toContain(leaves[0].serial.replace(/^0+/, ''));
  // Sequences were restored: the next history row does not reuse an id.
  await ctx.revocation.revoke({ serial: leaves[2].serial, issuerId: 'dev-issuing' }, 'superseded', 'test');
  const [last] = await ctx.db.select().from(revocations).orderBy(desc(revocations.id)).limit(1);
  expect(last.id).toBeGreaterThan(Math.max(...before.revs.map((r) => r.id)));
  const numbers = (await ctx.db.select({ n: crls.number }).from(crls).where(eq(crls.issuerId, 'dev-issuing'))).map((r) => r.n);
  expect(new Set(numbers).size).toBe(numbers.length);
}

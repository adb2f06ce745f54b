/**
 * CRLs built the streamed way (keyset pages, encoder chunks, signature over the parts, DER stored
 * in crl_parts slices, served as a stream): what openssl reads is exactly the revoked set, page and
 * part boundaries lose or duplicate nothing, and the bytes served over HTTP are the bytes built.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrlPublisher, type CrlPublisherTuning } from '../../src/ca/crl-publisher.ts';
import { certificates, crlParts, crls } from '../../src/db/schema.ts';
import { parseCrl } from '../../src/pki/crl.ts';
import { children, readTlv, tlvBytes } from '../../src/pki/der.ts';
import { startServer } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { crlText, openssl, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';

const ISSUER = 'dev-issuing';
const COUNT = 3_000;
const REASON_TEXT: Record<number, string> = { 1: 'Key Compromise', 4: 'Superseded', 5: 'Cessation Of Operation', 6: 'Certificate Hold' };

interface Expected {
  serial: string;
  reason: number | null;
  invalidity: boolean;
}

/** One entry of `openssl crl -text`: serial (lower-case hex), reason text, invalidity date shown. */
function opensslEntries(text: string): { serial: string; reason?: string; invalidity: boolean }[] {
  return text
    .split(/Serial Number:\s*/)
    .slice(1)
    .map((block) => {
      const serial = /^([0-9A-Fa-f]+)/.exec(block)![1].toLowerCase();
      const reason = /CRL Reason Code:\s*\n\s*([^\n]+)/.exec(block)?.[1].trim();
      return { serial, reason, invalidity: /Invalidity Date/.test(block) };
    });
}

describe.each(drivers)('streamed CRL building and serving (%s)', (driver) => {
  let t: TestContext;
  const expected: Expected[] = [];

  const publisher = (tuning: CrlPublisherTuning) =>
    new CrlPublisher(t.ctx.database, t.ctx.issuers, t.ctx.metrics, { publicUrl: t.ctx.config.publicUrl, validityHours: 24, refreshFraction: 0.5 }, tuning);

  beforeAll(async () => {
    t = await makeTestContext(driver);
    const now = Date.now();
    const far = new Date(now + 86400_000);
    const rows: (typeof certificates.$inferInsert)[] = [];
    const reasons = [null, 1, 4, 5, 6];
    for (let i = 0; i < COUNT; i++) {
      const s = randomBytes(16);
      // Mostly positive first bytes; every 97th has the high bit set (DER needs a 00 pad byte).
      s[0] = i % 97 === 0 ? 0xff : (s[0] & 0x7f) | 0x01;
      const reason = reasons[i % reasons.length];
      const invalidity = i % 11 === 0;
      expected.push({ serial: s.toString('hex'), reason, invalidity });
      rows.push({
        id: randomUUID(), issuerId: ISSUER, serial: s.toString('hex'), der: Buffer.alloc(1), subject: 'CN=stream-fixture',
        notBefore: new Date(now - 3600_000), notAfter: far, profile: 'tls-server', status: reason === 6 ? 'hold' : 'revoked',
        revokedAt: new Date(now - (i % 600) * 1000), revocationReason: reason, invalidityDate: invalidity ? new Date(now - 86400_000) : null,
        spkiSha256: 'x', protocol: 'internal', principal: 'test',
      });
    }
    // Not listed: valid, and revoked but expired (RFC 5280 5.1.2.6 lets entries go after expiry).
    for (let i = 0; i < 10; i++) {
      const expired = i % 2 === 1;
      rows.push({
        id: randomUUID(), issuerId: ISSUER, serial: `7e${randomBytes(15).toString('hex')}`, der: Buffer.alloc(1), subject: 'CN=stream-fixture',
        notBefore: new Date(now - 7200_000), notAfter: expired ? new Date(now - 3600_000) : far, profile: 'tls-server',
        status: expired ? 'revoked' : 'valid', revokedAt: expired ? new Date(now - 5000_000) : null, revocationReason: expired ? 1 : null,
        spkiSha256: 'x', protocol: 'internal', principal: 'test',
      });
    }
    for (let i = 0; i < rows.length; i += 500) await t.ctx.db.insert(certificates).values(rows.slice(i, i + 500));
    expected.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  }, 120_000);

  afterAll(async () => {
    await t?.cleanup();
    removeTempDirs();
  });

  it('lists exactly the revoked set, as openssl reads and verifies it, built from small pages into crl_parts', async () => {
    const crl = await publisher({ pageSize: 7, partBytes: 4096 }).generate(ISSUER);
    const der = crl.der;
    expect(der.length).toBe(crl.size);
    const dir = tempDir();
    const issuerPem = writePem(dir, 'issuer.pem', t.ctx.issuers.peek(ISSUER)!.certDer);
    const verify = openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, 'crl.der', der), '-CAfile', issuerPem, '-noout', '-verify']);
    expect(verify.status, verify.output).toBe(0);
    expect(verify.output).toMatch(/verify OK/);
    const text = crlText(der);
    expect(text).toMatch(new RegExp(`X509v3 CRL Number:\\s*\\n\\s*${crl.number}\\b`));
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    const listed = opensslEntries(text);
    // Same serials, in serial order, none lost or listed twice across the 7-row page boundaries.
    expect(listed.map((e) => e.serial)).toEqual(expected.map((e) => e.serial));
    listed.forEach((e, i) => {
      const want = expected[i];
      expect(e.reason).toBe(want.reason ? REASON_TEXT[want.reason] : undefined);
      expect(e.invalidity).toBe(want.invalidity);
    });
    // Stored in slices that join to the signed bytes.
    const [row] = await t.ctx.db.select({ id: crls.id, parts: crls.parts, entries: crls.entries }).from(crls).where(eq(crls.number, crl.number));
    expect(row.entries).toBe(COUNT);
    // Parts are runs of whole 64 KiB encoder chunks: ~150 KB of entries make at least three.
    expect(row.parts).toBeGreaterThanOrEqual(3);
    const slices = await t.ctx.db.select({ seq: crlParts.seq, bytes: crlParts.bytes }).from(crlParts).where(eq(crlParts.crlId, row.id)).orderBy(crlParts.seq);
    expect(slices).toHaveLength(row.parts);
    expect(Buffer.concat(slices.map((s) => s.bytes)).equals(der)).toBe(true);
  }, 120_000);

  it('gives the same entries and extensions whatever the page size, page boundaries included', async () => {
    const lists: Buffer[] = [];
    // 3,000 rows: pages of 1,000 end exactly at the last row (an empty page follows), 2,999 and 3,001 around it.
    for (const pageSize of [1_000, 2_999, 3_000, 3_001, 10_000]) {
      const crl = await publisher({ pageSize }).generate(ISSUER);
      const parsed = parseCrl(crl.der);
      expect(parsed.number).toBe(BigInt(crl.number));
      expect(parsed.entries.map((e) => e.serialHex.replace(/^00/, ''))).toEqual(expected.map((e) => e.serial));
      expect(parsed.extensions.map((e) => e.oid)).toEqual(['2.5.29.35', '2.5.29.20']);
      // The revokedCertificates element byte for byte (the 6th of TBSCertList; times and number differ per build).
      const tbsT = readTlv(parsed.tbs, 0);
      const fields = [...children(parsed.tbs, tbsT.start, tbsT.end)];
      expect(fields.map((f) => f.tag)).toEqual([0x02, 0x30, 0x30, 0x17, 0x17, 0x30, 0xa0]);
      lists.push(Buffer.from(tlvBytes(parsed.tbs, fields[5])));
    }
    for (const l of lists) expect(l.equals(lists[0])).toBe(true);
  }, 120_000);

  it('serves over HTTP the bytes it built, and another instance reads the same bytes from crl_parts', async () => {
    const tuned = publisher({ pageSize: 500, partBytes: 8192 });
    const built = await tuned.generate(ISSUER);
    Object.assign(t.ctx, { crls: tuned });
    const server = await startServer(t.ctx, []);
    try {
      const fetched = await Promise.all([1, 2, 3].map(() => fetch(`${server.httpUrl}/crl/${ISSUER}.crl`)));
      for (const res of fetched) {
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/pkix-crl');
        expect(res.headers.get('content-length')).toBe(String(built.size));
        expect(Buffer.from(await res.arrayBuffer()).equals(built.der)).toBe(true);
      }
    } finally {
      await server.stop();
    }
    const fresh = await publisher({}).latest(ISSUER);
    expect(fresh!.number).toBe(built.number);
    expect(fresh!.chunks.length).toBeGreaterThan(1);
    expect(fresh!.der.equals(built.der)).toBe(true);
    const dir = tempDir();
    const check = openssl(['crl', '-inform', 'DER', '-in', writeDer(dir, 'fresh.crl', fresh!.der), '-noout', '-crlnumber']);
    expect(check.stdout.trim()).toBe(`crlNumber=0x${built.number.toString(16).toUpperCase().padStart(2, '0')}`);
  }, 120_000);
});

/**
 * Invariant 2 (DESIGN.md): serial numbers are random, positive, carry at least 64 bits of
 * entropy (CA/B Forum BR 7.1) and are unique per issuer — enforced by a database constraint.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import { CertificateWriter } from '../../src/db/certificate-writer.ts';
import { parseCertificate, randomSerial, serialHex } from '../../src/pki/certificate.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { expectIssued, freshSpki, operator } from '../issuance/helpers.ts';

describe('randomSerial()', () => {
  const N = 10_000;
  const serials = Array.from({ length: N }, () => randomSerial());

  it('gives 10,000 distinct values', () => {
    expect(new Set(serials.map((s) => s.toString('hex'))).size).toBe(N);
  });

  it('is always 16 octets, positive (high bit clear) and never zero-padded', () => {
    for (const s of serials) {
      expect(s.length).toBe(16);
      expect(s[0] & 0x80).toBe(0);
      expect(s[0]).not.toBe(0);
      // The DER INTEGER content is the serial itself: no 0x00 pad, so 16 octets on the wire.
      expect(serialHex(s)).toBe(s.toString('hex'));
    }
  });

  it('varies in every bit below the sign bit (≥ 64 random bits; 127 in fact)', () => {
    // Each of the 127 low bits must take both values somewhere in 10,000 samples; a fixed bit
    // (a counter, a timestamp prefix, a constant) would show as a bit that never changes.
    let ones = 0n;
    let zeros = 0n;
    const mask = (1n << 127n) - 1n;
    for (const s of serials) {
      const v = BigInt('0x' + s.toString('hex'));
      ones |= v;
      zeros |= ~v & mask;
    }
    expect(ones).toBe(mask);
    expect(zeros).toBe(mask);
    // The sign bit is never set.
    expect(serials.some((s) => s[0] & 0x80)).toBe(false);
  });
});

describe.each(drivers)('invariant 2: serials in the database (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('300 concurrent issuances get 300 distinct serials, each the one in its DER', async () => {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        t.ctx.pipeline.issue({
          principal: operator,
          profile: 'tls-server',
          key: { kind: 'spki', der: freshSpki(), pop: 'verified-by-protocol' },
          subject: [{ type: 'CN', value: `host${i}.example.com` }],
        }),
      ),
    );
    const issued = results.map(expectIssued);
    const serials = issued.map((r) => r.certificate.serial);
    expect(new Set(serials).size).toBe(300);
    for (const r of issued) {
      const c = parseCertificate(r.certificate.der);
      expect(c.serialHex).toBe(r.certificate.serial);
      expect(c.serialHex).toMatch(/^[0-7][0-9a-f]{31}$/);
    }
    const [agg] = await t.ctx.db
      .select({
        n: sql<number>`count(*)::int`,
        distinct: sql<number>`count(distinct (${certificates.issuerId}, ${certificates.serial}))::int`,
      })
      .from(certificates);
    expect(agg.distinct).toBe(agg.n);
    expect(agg.n).toBeGreaterThanOrEqual(300);
  });

  it('the database refuses a second row with the same (issuer, serial)', async () => {
    const [row] = await t.ctx.db.select().from(certificates).limit(1);
    expect(row).toBeDefined();
    const dup = { ...row, id: randomUUID(), idempotencyKey: null, createdAt: undefined };
    let err: unknown;
    try {
      await t.ctx.db.insert(certificates).values(dup);
    } catch (e) {
      err = e;
    }
    expect(err, 'inserting a duplicate (issuer, serial) must fail').toBeDefined();
    const text = `${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`;
    const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    expect(code === '23505' || /certificates_issuer_serial_uq|duplicate key/.test(text), text).toBe(true);

    // The same serial under another issuer is a different certificate: allowed.
    const otherIssuer = { ...row, id: randomUUID(), issuerId: 'some-other-issuer', idempotencyKey: null, createdAt: undefined };
    await t.ctx.db.insert(certificates).values(otherIssuer);
    await t.ctx.db.delete(certificates).where(eq(certificates.id, otherIssuer.id));

    // The group-commit writer reports the collision per row ('serial'), so the pipeline retries with a new serial.
    const writer = new CertificateWriter(t.ctx.database);
    const outcome = await writer.write(
      { ...row, id: randomUUID(), idempotencyKey: null, createdAt: undefined },
      { actor: 'test', action: 'certificate.issue', target: 'dup' },
    );
    expect(outcome).toEqual({ ok: false, conflict: 'serial' });
    const [{ n }] = await t.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(certificates)
      .where(eq(certificates.serial, row.serial));
    expect(n).toBe(1);
  });
});

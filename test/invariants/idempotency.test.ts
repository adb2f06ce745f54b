/**
 * Invariant 3 (DESIGN.md): the same idempotency key returns the same result, under concurrency
 * too; it never issues twice — within one process and across two instances on one PostgreSQL.
 */
import { eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { certificates } from '../../src/db/schema.ts';
import type { EnrollmentRequest } from '../../src/issuance/request.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { expectIssued, operator } from '../issuance/helpers.ts';

afterAll(() => removeTempDirs());

const scopedKey = (key: string) => `${operator.protocol}:${operator.id}:${key}`;

async function rowsForKey(t: TestContext, key: string) {
  return t.ctx.db.select({ id: certificates.id, serial: certificates.serial }).from(certificates).where(eq(certificates.idempotencyKey, scopedKey(key)));
}

describe.each(drivers)('invariant 3: idempotency (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('50 concurrent calls with one key issue one certificate, and all 50 carry its serial', async () => {
    const csr = makeCsr({ subject: '/CN=idem.example.com', sans: ['DNS:idem.example.com'] });
    const req: EnrollmentRequest = { principal: operator, profile: 'tls-server', key: { kind: 'csr', der: csr.der }, idempotencyKey: 'idem-50' };
    const results = (await Promise.all(Array.from({ length: 50 }, () => t.ctx.pipeline.issue(req)))).map(expectIssued);
    const serials = new Set(results.map((r) => r.certificate.serial));
    expect(serials.size).toBe(1);
    expect(new Set(results.map((r) => Buffer.from(r.certificate.der).toString('base64'))).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const rows = await rowsForKey(t, 'idem-50');
    expect(rows).toHaveLength(1);
    expect(rows[0].serial).toBe([...serials][0]);

    // A later replay returns the stored result, marked replayed.
    const again = expectIssued(await t.ctx.pipeline.issue(req));
    expect(again.certificate.serial).toBe(rows[0].serial);
    expect(again.replayed).toBe(true);
  });

  it('keys are scoped per principal: the same key from another principal is another request', async () => {
    const csr = makeCsr({ subject: '/CN=scope.example.com', sans: ['DNS:scope.example.com'] });
    const a = expectIssued(await t.ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der: csr.der }, idempotencyKey: 'shared' }));
    const b = expectIssued(
      await t.ctx.pipeline.issue({ principal: { ...operator, id: 'operator:other' }, profile: 'tls-server', key: { kind: 'csr', der: csr.der }, idempotencyKey: 'shared' }),
    );
    expect(a.certificate.serial).not.toBe(b.certificate.serial);
  });

  it.runIf(driver === 'postgres')('two Contexts on one PostgreSQL: 25 + 25 concurrent calls issue one certificate', async () => {
    const second = await createContext(t.config, { logger: pino({ level: 'silent' }) });
    try {
      // Both instances see the same hierarchy.
      expect(second.issuers.peek('dev-issuing')?.certDer.equals(t.ctx.issuers.peek('dev-issuing')!.certDer)).toBe(true);
      for (let round = 0; round < 3; round++) {
        const key = `two-instances-${round}`;
        const csr = makeCsr({ subject: `/CN=two${round}.example.com`, sans: [`DNS:two${round}.example.com`] });
        const req: EnrollmentRequest = { principal: operator, profile: 'tls-server', key: { kind: 'csr', der: csr.der }, idempotencyKey: key };
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 25; i++) calls.push(t.ctx.pipeline.issue(req), second.pipeline.issue(req));
        const results = (await Promise.all(calls)).map((r) => expectIssued(r as never));
        expect(new Set(results.map((r) => r.certificate.serial)).size).toBe(1);
        const rows = await rowsForKey(t, key);
        expect(rows).toHaveLength(1);
        expect(rows[0].serial).toBe(results[0].certificate.serial);
      }
      const [{ dups }] = await t.ctx.db
        .select({ dups: sql<number>`count(*) - count(distinct ${certificates.idempotencyKey})` })
        .from(certificates)
        .where(sql`${certificates.idempotencyKey} is not null`);
      expect(Number(dups)).toBe(0);
    } finally {
      await second.close();
    }
  });
});

/**
 * Invariant 1 (DESIGN.md): a certificate is committed to the database before any byte of it
 * leaves the server. When `pipeline.issue` resolves, another connection (PostgreSQL) or a
 * fresh open of the data directory (PGlite) finds the row with identical DER.
 */
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { openDatabase } from '../../src/db/client.ts';
import { certificates } from '../../src/db/schema.ts';
import pino from 'pino';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { freshSpki, issueCsr, expectIssued, operator } from '../issuance/helpers.ts';

afterEach(() => removeTempDirs());

describe.each(drivers)('invariant 1: committed before returned (%s)', (driver) => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  it('a separate connection sees the row with identical DER as soon as issue() resolves', async () => {
    env = await makeTestEnv(driver);
    const ctx = await createContext(env.config, { logger: pino({ level: 'silent' }) });
    let open = true;
    const closeCtx = async () => {
      if (open) {
        open = false;
        await ctx.close();
      }
    };
    try {
      const csr = makeCsr({ subject: '/CN=commit.example.com', sans: ['DNS:commit.example.com'] });
      if (driver === 'postgres') {
        // A second client on the test database: it only sees committed rows.
        const other = postgres(env.databaseUrl!, { max: 1, onnotice: () => {} });
        try {
          const r = await issueCsr(ctx, 'tls-server', csr.der);
          const rows = await other`select der, serial, issuer_id from certificates where id = ${r.certificate.id}`;
          expect(rows).toHaveLength(1);
          expect(Buffer.from(rows[0].der).equals(Buffer.from(r.certificate.der))).toBe(true);
          expect(rows[0].serial).toBe(r.certificate.serial);

          // Under concurrency (group commit batches several issuances in one transaction): each
          // caller is released only after its batch committed.
          const seen = await Promise.all(
            Array.from({ length: 40 }, () =>
              ctx.pipeline
                .issue({ principal: operator, profile: 'tls-server', key: { kind: 'spki', der: freshSpki(), pop: 'verified-by-protocol' }, subject: [{ type: 'CN', value: 'batch.example.com' }] })
                .then(async (res) => {
                  const issued = expectIssued(res);
                  const [row] = await other`select der from certificates where id = ${issued.certificate.id}`;
                  return !!row && Buffer.from(row.der).equals(Buffer.from(issued.certificate.der));
                }),
            ),
          );
          expect(seen.every(Boolean)).toBe(true);
        } finally {
          await other.end();
        }
      } else {
        const r = await issueCsr(ctx, 'tls-server', csr.der);
        const [row] = await ctx.db.select().from(certificates).where(eq(certificates.id, r.certificate.id));
        expect(Buffer.from(row.der).equals(Buffer.from(r.certificate.der))).toBe(true);

        const many = await Promise.all(
          Array.from({ length: 40 }, () =>
            ctx.pipeline
              .issue({ principal: operator, profile: 'tls-server', key: { kind: 'spki', der: freshSpki(), pop: 'verified-by-protocol' }, subject: [{ type: 'CN', value: 'batch.example.com' }] })
              .then(async (res) => {
                const issued = expectIssued(res);
                const [x] = await ctx.db.select({ der: certificates.der }).from(certificates).where(eq(certificates.id, issued.certificate.id));
                return { issued, stored: !!x && Buffer.from(x.der).equals(Buffer.from(issued.certificate.der)) };
              }),
          ),
        );
        expect(many.every((m) => m.stored)).toBe(true);
        await closeCtx();

        // PGlite serves one process: prove durability by opening the directory afresh.
        const reopened = await openDatabase({ dataDir: env.dataDir });
        try {
          for (const { certificate } of [r, ...many.map((m) => m.issued)]) {
            const [x] = await reopened.db.select({ der: certificates.der }).from(certificates).where(eq(certificates.id, certificate.id));
            expect(x, `certificate ${certificate.serial} after reopening`).toBeDefined();
            expect(Buffer.from(x.der).equals(Buffer.from(certificate.der))).toBe(true);
          }
        } finally {
          await reopened.close();
        }
      }
    } finally {
      await closeCtx();
    }
  });
});

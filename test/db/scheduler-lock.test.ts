import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import { LOCK_SCHEDULER } from '../../src/db/client.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

// Scheduled CRL refresh across instances sharing one PostgreSQL: exactly one runs it at a time.
describe.skipIf(!drivers.includes('postgres'))('scheduled jobs in one instance (postgres; needs DATABASE_URL)', () => {
  let a: TestContext;
  let b: Context;
  beforeAll(async () => {
    a = await makeTestContext('postgres');
    b = await createContext(a.config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await b?.close();
    await a?.cleanup();
  });

  it('skips the refresh in an instance while another holds the scheduler lock, and runs it after', async () => {
    // Instance A is in the middle of its scheduled run: B's tick must do nothing.
    const duringA = await a.ctx.database.withLock(LOCK_SCHEDULER, () => b.crls.refreshDue(), false);
    expect(duringA).toEqual([]);
    // A CRL that is already past its refresh point: B's next tick, with the lock free, renews it.
    await b.issuers.updateOptions('dev-issuing', { crlValidityHours: 0.0002 });
    const stale = await b.crls.generate('dev-issuing');
    await new Promise((r) => setTimeout(r, 800));
    const after = await b.crls.refreshDue();
    expect(after.some((u) => u.endsWith('/crl/dev-issuing.crl'))).toBe(true);
    expect((await b.crls.latest('dev-issuing'))!.number).toBeGreaterThan(stale.number);
    await b.issuers.updateOptions('dev-issuing', {});
  });
});

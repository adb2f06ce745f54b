/**
 * Mutated messages (a seeded, repeatable stand-in for `npm run fuzz` until CMP joins it): bytes of
 * real requests flipped, dropped, duplicated and lengths rewritten. Every answer is HTTP 200 with a
 * PKIMessage or HTTP 400 — never a 5xx — and no mutated request is issued a certificate (its MAC
 * or POP no longer verifies).
 */
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import { decodePKIMessage } from '../../src/pki/cmp-message.ts';
import { drivers } from '../support/context.ts';
import { certConfBody, crmfBody, header, makeCmpEnv, newKey, protect, type CmpEnv } from './client.ts';

/** xorshift32: the same mutations on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function mutate(src: Buffer, r: (n: number) => number): Buffer {
  const b = Buffer.from(src);
  switch (r(5)) {
    case 0: // flip a byte
      b[r(b.length)] ^= 1 + r(255);
      return b;
    case 1: // truncate
      return b.subarray(0, r(b.length));
    case 2: // duplicate a slice in place
    {
      const i = r(b.length);
      const j = Math.min(b.length, i + 1 + r(32));
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
    case 3: // a length octet becomes long-form / huge
    {
      const i = 1 + r(Math.min(b.length - 1, 200));
      b[i] = [0x80, 0x84, 0xff, 0x7f, 0x00][r(5)];
      return b;
    }
    default: // a tag changes
    {
      const i = r(Math.min(b.length, 300));
      b[i] = [0x30, 0x31, 0xa0, 0xa4, 0x04, 0x02, 0x1f, 0xff][r(8)];
      return b;
    }
  }
}

describe.each(drivers)('CMP mutated messages (%s)', (driver) => {
  let env: CmpEnv;
  beforeAll(async () => {
    env = await makeCmpEnv(driver);
  }, 60_000);
  afterAll(async () => env?.close());

  it('300 mutations of ir, certConf and p10cr-shaped messages: 200 or 400, never 5xx, nothing issued', async () => {
    const s = await env.secret();
    const mac = { kind: 'pbm' as const, ...s };
    const seeds = [
      protect(header({ implicit: true }), crmfBody('ir', 'mut-ir', newKey()), mac),
      protect(header(), crmfBody('cr', 'mut-cr', newKey()), mac),
      protect(header(), certConfBody(Buffer.from('not a certificate')), mac),
    ];
    const before = (await env.t.ctx.db.select({ n: count() }).from(certificates))[0].n;
    const r = rng(0xc0ffee);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const seed = seeds[i % seeds.length];
      let body = mutate(seed, r);
      while (body.equals(seed)) body = mutate(seed, r); // a tag set to the value it had is no mutation

      const res = await env.post(body);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect([200, 400], `mutation ${i}`).toContain(res.status);
      if (res.status === 200) expect(['error', 'ip', 'cp']).toContain(decodePKIMessage(res.der).body.type);
    }
    const after = (await env.t.ctx.db.select({ n: count() }).from(certificates))[0].n;
    expect(after).toBe(before);
    // The unmutated seed would have been issued: the refusals above are the mutations' doing.
    expect(decodePKIMessage((await env.post(seeds[0])).der).body.type).toBe('ip');
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
  }, 120_000);
});

/**
 * Database.query: constant texts with parameters, on both drivers. On PGlite the values travel as
 * escaped literals, so hostile strings, JSON, bytes and times must come back exactly as sent, and a
 * value can never end the statement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineParams, sqlLiteral } from '../../src/db/client.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

const hostile = [
  "it's",
  "'; drop table certificates; --",
  'back\\slash \\x41 \\\\ and \\\'',
  'E\'\\\'',
  '$1 $2 $$ dollar $$',
  'ünïcødé ✓ 𝄞',
  'line\nbreak\ttab\r',
  '',
];

describe('sqlLiteral / inlineParams', () => {
  it('refuses what cannot be a literal', () => {
    expect(() => sqlLiteral('a\0b')).toThrow(/NUL/);
    expect(() => sqlLiteral(Number.NaN)).toThrow();
    expect(() => sqlLiteral(new Date(Number.NaN))).toThrow();
    expect(() => inlineParams('select $2', ['x'])).toThrow(/\$2/);
  });
  it('writes quotes doubled, and backslashes in an E string', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(sqlLiteral(null)).toBe('NULL');
    expect(inlineParams('select $1::text, $10::int', Array.from({ length: 10 }, (_, i) => i + 1))).toBe("select '1'::text, '10'::int");
  });
});

describe.each(drivers)('Database.query (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
    await t.ctx.database.query('create table if not exists query_probe (id int primary key, s text, j jsonb, b bytea, at timestamptz, f boolean)');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('round-trips hostile text, JSON, bytes, times, booleans and NULL exactly', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const at = new Date('2026-11-23T12:34:56.789Z');
    for (const [i, s] of hostile.entries()) {
      const json = JSON.stringify({ s, nested: [s, { q: "'" }] });
      const rows = await t.ctx.database.query<{ id: number; s: string; j: unknown; b: Uint8Array; at: Date; f: boolean }>(
        'insert into query_probe (id, s, j, b, at, f) values ($1::int, $2::text, $3::jsonb, $4::bytea, $5::timestamptz, $6::boolean) returning *',
        [i, s, json, bytes, at, i % 2 === 0],
      );
      expect(rows).toHaveLength(1);
      const r = rows[0];
      expect(r.s).toBe(s);
      // jsonb is parsed by both drivers (ACME reads its rows as objects).
      expect(r.j).toEqual(JSON.parse(json));
      expect(Buffer.from(r.b).equals(bytes)).toBe(true);
      expect(new Date(r.at).getTime()).toBe(at.getTime());
      expect(r.f).toBe(i % 2 === 0);
    }
    const [n] = await t.ctx.database.query<{ n: number }>('select count(*)::int as n from query_probe where s = $1::text or s is null', [hostile[1]]);
    expect(n.n).toBe(1);
    const [nul] = await t.ctx.database.query<{ v: string | null }>('select $1::text as v', [null]);
    expect(nul.v).toBeNull();
    // The table the hostile value names is still there.
    const [c] = await t.ctx.database.query<{ n: number }>('select count(*)::int as n from certificates');
    expect(c.n).toBeGreaterThanOrEqual(0);
  });
});

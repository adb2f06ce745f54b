/**
 * Database.query: constant texts with parameters, on both drivers. On PGlite the values travel as
 * escaped literals, so hostile strings, JSON, bytes and times must come back exactly as sent, and a
 * value can never end the statement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineParams, paramCount, sqlLiteral } from '../../src/db/client.ts';
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

  it('runs one text many times with other values (prepared once), and a text with an untyped parameter too', async () => {
    const text = 'select $1::int * 2 as v, $2::text as s';
    for (let i = 0; i < 8; i++) {
      const [r] = await t.ctx.database.query<{ v: number; s: string }>(text, [i, `run ${i}`]);
      expect(r).toEqual({ v: i * 2, s: `run ${i}` });
    }
    await expect(t.ctx.database.query(text, [1])).rejects.toThrow();
    if (driver !== 'pglite') return;
    // PostgreSQL cannot PREPARE this one (the type of $1 is unknown): on PGlite it runs with the value inlined.
    const [u] = await t.ctx.database.query<{ v: boolean }>('select $1 is null as v', [null]);
    expect(u.v).toBe(true);
    const [w] = await t.ctx.database.query<{ v: boolean }>('select $1 is null as v', ["it's"]);
    expect(w.v).toBe(false);
  });
});

describe('paramCount', () => {
  it('is the highest $n', () => {
    expect(paramCount('select 1')).toBe(0);
    expect(paramCount('select $2::int, $10::text, $1')).toBe(10);
  });
});

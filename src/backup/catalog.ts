/**
 * What a backup holds, read from the database catalog rather than a list in code: every table of
 * the `public` schema (the core's and every protocol's, present and future), in an order where a
 * table comes after the tables its foreign keys name, and every sequence with its position.
 */
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.ts';

export type Exec = (text: string) => Promise<Record<string, unknown>[]>;

/** Raw SQL on a drizzle handle, rows as objects, on both drivers (postgres.js returns a list, PGlite `{ rows }`). */
export function execOn(db: Db | Tx): Exec {
  return async (text) => {
    const r = (await db.execute(sql.raw(text))) as unknown as { rows?: Record<string, unknown>[] } | Record<string, unknown>[];
    return Array.isArray(r) ? r : (r.rows ?? []);
  };
}

export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const qualified = (table: string) => `public.${ident(table)}`;

export interface TableInfo {
  name: string;
  /** Columns a restore inserts (generated ones are computed again). */
  columns: string[];
  /** Primary-key columns (else every column): the dump's order, so the hashes are reproducible. */
  orderBy: string[];
}

export async function listTables(exec: Exec): Promise<TableInfo[]> {
  const tables = (await exec(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by c.relname`)).map((r) => String(r.name));
  const cols = await exec(`select c.relname as t, a.attname as col, a.attgenerated as gen from pg_attribute a
      join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped order by c.relname, a.attnum`);
  const pks = await exec(`select c.relname as t, a.attname as col, array_position(i.indkey::int2[], a.attnum) as pos from pg_index i
      join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
      where n.nspname = 'public' and i.indisprimary order by c.relname, pos`);
  const fks = await exec(`select c.relname as t, r.relname as ref from pg_constraint k
      join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid
      join pg_namespace n on n.oid = c.relnamespace where k.contype = 'f' and n.nspname = 'public'`);
  const info = tables.map((name): TableInfo => {
    const all = cols.filter((c) => c.t === name);
    const pk = pks.filter((p) => p.t === name).map((p) => String(p.col));
    return { name, columns: all.filter((c) => !c.gen).map((c) => String(c.col)), orderBy: pk.length ? pk : all.map((c) => String(c.col)) };
  });
  return fkOrder(info, fks.map((f) => [String(f.t), String(f.ref)]));
}

/** Tables after those they reference; a cycle (none today) keeps the remaining alphabetical order. */
export function fkOrder<T extends { name: string }>(tables: T[], edges: [string, string][]): T[] {
  const out: T[] = [];
  const placed = new Set<string>();
  let rest = [...tables];
  while (rest.length) {
    const ready = rest.filter((t) => edges.every(([from, to]) => from !== t.name || to === t.name || placed.has(to) || !rest.some((r) => r.name === to)));
    const take = ready.length ? ready : [rest[0]];
    for (const t of take) {
      out.push(t);
      placed.add(t.name);
    }
    rest = rest.filter((t) => !placed.has(t.name));
  }
  return out;
}

export interface SequenceState {
  name: string;
  lastValue: string;
  isCalled: boolean;
}

export async function listSequences(exec: Exec): Promise<SequenceState[]> {
  const names = await exec(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'S' order by c.relname`);
  const out: SequenceState[] = [];
  for (const { name } of names) {
    const [r] = await exec(`select last_value::text as v, is_called as c from ${qualified(String(name))}`);
    out.push({ name: String(name), lastValue: String(r.v), isCalled: r.c === true || r.c === 't' });
  }
  return out;
}

export interface MigrationState {
  hash: string;
  createdAt: string;
}

/** The schema's migrations (drizzle's own bookkeeping): a restore needs the same ones applied. */
export async function listMigrations(exec: Exec): Promise<MigrationState[]> {
  const rows = await exec(`select hash, created_at::text as at from drizzle.__drizzle_migrations order by created_at, id`);
  return rows.map((r) => ({ hash: String(r.hash), createdAt: String(r.at) }));
}

/** Tables of `public` that hold at least one row: a restore target must have none. */
export async function nonEmptyTables(exec: Exec): Promise<string[]> {
  const tables = await listTables(exec);
  const out: string[] = [];
  for (const t of tables) if ((await exec(`select 1 as x from ${qualified(t.name)} limit 1`)).length) out.push(t.name);
  return out;
}

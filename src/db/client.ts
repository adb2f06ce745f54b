import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { NoDataError } from '../data-dir.ts';
import { packagePath } from '../package-root.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` holding a cluster-wide advisory lock (PostgreSQL); waits for it when `wait`, else
   * returns undefined if another instance holds it. PGlite serves one process, so it just runs.
   */
  withLock<T>(key: number, fn: () => Promise<T>, wait?: boolean): Promise<T | undefined>;
  /**
   * One parameterised statement (`$1`, `$2`, …) of constant text, without the query builder: a
   * named prepared statement on PostgreSQL (one round trip), one simple-protocol call with escaped
   * literals on PGlite. Rows come back with their column names and the driver's types: json parsed,
   * bytea as bytes, timestamptz as a Date on PGlite but as text on PostgreSQL (read it with
   * `new Date(…)`). For hot paths, where building SQL text per call costs more than running it.
   */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

// From the package root: this module runs from src/db (tsx) and from dist/src/db (compiled).
export const migrationsFolder = packagePath('drizzle');

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite in `dataDir` is used. */
  url?: string;
  dataDir?: string;
  /** PGlite only: shared_buffers in MB (default 16). */
  pgliteSharedBuffersMb?: number;
  /**
   * PGlite only: after creating a new database, reopen it so the serving instance does not keep the
   * WASM memory initdb grew (~400 MB). Costs a few seconds once; for long-lived processes (`serve`).
   */
  reopenFresh?: boolean;
  /** postgres.js pool size. */
  poolSize?: number;
  /** Seconds to wait for a PostgreSQL connection (postgres.js `connect_timeout`). */
  connectTimeout?: number;
  /** Apply migrations on open (default true). */
  migrate?: boolean;
  /** Migrations to apply (default: the project's `drizzle/`); a restore applies an older archive's subset first. */
  migrationsFolder?: string;
  /**
   * Refuse (NoDataError) rather than create: PGlite needs an existing database directory, and
   * PostgreSQL a database that already holds Certgate's schema. Default false.
   */
  mustExist?: boolean;
}

/** Opens PostgreSQL (postgres.js) when a URL is given, else PGlite in `<dataDir>/db`; applies migrations. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const sqlClient = postgres(opts.url, {
      max: opts.poolSize ?? 10,
      connect_timeout: opts.connectTimeout ?? 3,
      // postgres.js waits before each reconnect, 3^retries/100 s up to 20 s (retries shared by the
      // pool): in an outage every request queued that long before failing, and recovery lagged as
      // much. Capped at 0.5 s, requests fail fast and the pool is back within a second of the database.
      backoff: reconnectDelaySeconds,
      onnotice: () => {},
      // bytea comes back as Buffer; bigint columns are declared mode:number in the schema.
    });
    const db = drizzle(alwaysPrepared(sqlClient), { schema }) as unknown as Db;
    if (opts.mustExist) {
      const [row] = await sqlClient`select to_regclass('public.issuers') is not null as ok`.catch(async (e) => {
        await sqlClient.end({ timeout: 1 });
        throw e;
      });
      if (!row?.ok) {
        await sqlClient.end({ timeout: 1 });
        throw new NoDataError(`the PostgreSQL database of DATABASE_URL (${redactUrl(opts.url)}) holds no Certgate schema`, opts.dataDir ?? './data');
      }
    }
    const withLock = <T>(key: number, fn: () => Promise<T>, wait = true) => pgAdvisoryLock(sqlClient, key, fn, wait);
    if (opts.migrate !== false) {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator');
      await withLock(LOCK_MIGRATE, () => migrate(db as never, { migrationsFolder: opts.migrationsFolder ?? migrationsFolder }));
    }
    // drizzle turns postgres.js's date serializers and parsers off (it converts itself): a Date goes
    // as ISO text, and timestamptz comes back as text.
    const query = async <T,>(text: string, params: readonly unknown[] = []) =>
      (await sqlClient.unsafe(text, params.map((p) => (p instanceof Date ? p.toISOString() : p)) as never[], { prepare: true })) as unknown as T[];
    return { db, kind: 'postgres', withLock, query, close: () => sqlClient.end({ timeout: 5 }) };
  }
  const dir = join(opts.dataDir ?? './data', 'db');
  if (opts.mustExist && !existsSync(join(dir, 'PG_VERSION'))) {
    throw new NoDataError(`no Certgate database in ${resolve(opts.dataDir ?? './data')} (looked for ${resolve(dir)})`, opts.dataDir ?? './data');
  }
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  // PGlite's postgres would take PostgreSQL's default 128 MB of shared buffers inside its WASM memory,
  // which never shrinks: most of the embedded mode's RSS. A small pool keeps idle RSS low; the OS page
  // cache still holds the files.
  const open = () =>
    PGlite.create(dir, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${opts.pgliteSharedBuffersMb ?? 16}MB`, '-c', 'wal_buffers=1MB'],
    });
  let client = await open();
  let db = drizzle(client, { schema }) as unknown as Db;
  if (opts.migrate !== false) {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(db as never, { migrationsFolder: opts.migrationsFolder ?? migrationsFolder });
  }
  if (fresh && opts.reopenFresh) {
    // initdb and the first migrations grow the WASM memory to several hundred MB, kept for the
    // instance's life: start the serving instance afresh on the files they wrote.
    await client.close();
    client = await open();
    db = drizzle(client, { schema }) as unknown as Db;
  }
  // PGlite runs the extended protocol as six calls into WASM (parse, describe, bind, describe,
  // execute, sync); one simple-protocol call costs less than half. Each constant text is PREPAREd
  // once and then run as `EXECUTE name(literals…)`, which also keeps its plan (perf: ~160 vs ~290 µs
  // for the ACME authorization read, whose planning was half of it). A text PostgreSQL cannot
  // prepare (a parameter of no inferable type) runs with its values inlined as literals.
  const prepared = new Map<string, Promise<{ name: string; arity: number } | null>>();
  const prepare = (text: string) => {
    let p = prepared.get(text);
    if (!p && prepared.size < 512) {
      const name = `certgate_q${prepared.size + 1}`;
      p = client.exec(`prepare ${name} as ${text}`).then(
        () => ({ name, arity: paramCount(text) }),
        () => null,
      );
      prepared.set(text, p);
    }
    return p;
  };
  const query = async <T,>(text: string, params: readonly unknown[] = []) => {
    const p = await prepare(text);
    let statement: string;
    if (p) {
      if (params.length < p.arity) throw new Error(`query: ${p.arity} parameters wanted, ${params.length} given`);
      statement = p.arity ? `execute ${p.name}(${params.slice(0, p.arity).map(sqlLiteral).join(', ')})` : `execute ${p.name}`;
    } else statement = inlineParams(text, params);
    const [result] = await client.exec(statement);
    return (result?.rows ?? []) as T[];
  };
  return { db, kind: 'pglite', withLock: (_key, fn) => fn(), query, close: () => client.close() };
}

/** Seconds before a reconnect attempt after `retries` failed ones: 50 ms doubling, at most 0.5 s, jittered. */
export function reconnectDelaySeconds(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 0.5) * (0.5 + Math.random() / 2);
}

/**
 * drizzle asks postgres.js for unnamed statements (`prepare: false`), and postgres.js then sends
 * every statement with parameters twice: Parse+Describe, wait for the parameter types, then
 * Bind+Execute — two round trips each. Named statements (postgres.js caches them per connection by
 * text and types) are described once per connection and then cost one round trip
 * (perf: the ACME benchmark runs ~14 statements per order).
 */
function alwaysPrepared(sqlClient: import('postgres').Sql): import('postgres').Sql {
  const unsafe: import('postgres').Sql['unsafe'] = (query, params, options) => sqlClient.unsafe(query, params, { ...options, prepare: true });
  return new Proxy(sqlClient, {
    get: (target, prop, receiver) => (prop === 'unsafe' ? unsafe : Reflect.get(target, prop, receiver)),
  });
}

/** A value as a PostgreSQL literal (quotes doubled; backslashes doubled in an E'' string, as pg's escapeLiteral). */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('sqlLiteral: not a finite number');
    return `'${String(v)}'`;
  }
  if (typeof v === 'bigint') return `'${v.toString()}'`;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new Error('sqlLiteral: invalid date');
    return `'${v.toISOString()}'`;
  }
  // bytea hex input (\x…), written so that it means the same whatever standard_conforming_strings says.
  if (v instanceof Uint8Array) return `E'\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'`;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s.includes('\0')) throw new Error('sqlLiteral: a NUL character cannot be stored');
  let out = "'";
  let backslash = false;
  for (const ch of s) {
    if (ch === "'") out += "''";
    else if (ch === '\\') {
      out += '\\\\';
      backslash = true;
    } else out += ch;
  }
  out += "'";
  return backslash ? `E${out}` : out;
}

/** The highest `$n` of a statement text: how many parameters it takes. */
export function paramCount(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/\$(\d+)/g)) n = Math.max(n, Number(m[1]));
  return n;
}

/** `$1`, `$2`, … of a constant statement text replaced by literals (the texts hold no `$n` inside strings). */
export function inlineParams(text: string, params: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`inlineParams: no value for $${n}`);
    return sqlLiteral(params[i]);
  });
}

/** Advisory lock keys: one per job that must run in exactly one instance at a time. */
export const LOCK_MIGRATE = 727274001;
export const LOCK_BOOTSTRAP = 727274002;
export const LOCK_SCHEDULER = 727274003;

/** A session-level lock on a reserved connection, so the work inside may use the pool freely. */
async function pgAdvisoryLock<T>(sqlClient: import('postgres').Sql, key: number, fn: () => Promise<T>, wait: boolean): Promise<T | undefined> {
  const reserved = await sqlClient.reserve();
  try {
    if (wait) await reserved`select pg_advisory_lock(${key})`;
    else {
      const [r] = await reserved`select pg_try_advisory_lock(${key}) as ok`;
      if (!r?.ok) return undefined;
    }
    try {
      return await fn();
    } finally {
      await reserved`select pg_advisory_unlock(${key})`.catch(() => {});
    }
  } finally {
    reserved.release();
  }
}

/** A postgres:// URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unparsable URL';
  }
}

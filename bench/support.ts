import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { fromPem } from '../src/pki/pem.ts';

export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function pgReachable(): Promise<boolean> {
  const sql = postgres(PG_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end().catch(() => {});
  }
}

export interface BenchDb {
  url?: string;
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh data dir and, for PostgreSQL, a fresh database. */
export async function freshDb(driver: 'pglite' | 'postgres'): Promise<BenchDb> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certgate-bench-'));
  if (driver === 'pglite') return { dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  const name = `certgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    dataDir,
    async drop() {
      const a = postgres(PG_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function benchContext(db: BenchDb, overrides: Record<string, unknown> = {}): Promise<Context> {
  const config = loadConfig({}, { dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'silent', httpPort: 0, httpsPort: 0, ...overrides });
  return createContext(config, { logger: pino({ level: 'silent' }) });
}

/** A P-256 CSR made by openssl (an independent client), DER. */
export function opensslCsr(dir: string, cn = 'bench.example.com', key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): Buffer {
  execFileSync('openssl', ['req', '-new', ...key, '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'r.pem'), '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`], { stdio: 'ignore' });
  return fromPem(readFileSync(join(dir, 'r.pem'), 'utf8'), 'CERTIFICATE REQUEST')[0];
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `total` calls of `fn` with `concurrency` in flight; returns rate and latency percentiles (ms). */
export async function runLoad(total: number, concurrency: number, fn: () => Promise<unknown>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const s = performance.now();
        await fn();
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: total / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), secs };
}

export const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

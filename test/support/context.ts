import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';

export type Driver = 'pglite' | 'postgres';

/**
 * PGlite always; PostgreSQL too when DATABASE_URL is set. CERTGATE_TEST_DRIVERS (e.g. `postgres`)
 * narrows the list, so CI's second run does not repeat the PGlite half.
 */
export const drivers: Driver[] = ((): Driver[] => {
  const all: Driver[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
  const only = process.env.CERTGATE_TEST_DRIVERS?.split(',').map((s) => s.trim());
  return only ? all.filter((d) => only.includes(d)) : all;
})();

export interface TestEnv {
  driver: Driver;
  dataDir: string;
  config: Config;
  /** postgres:// URL of this test's own fresh database (postgres driver only). */
  databaseUrl?: string;
  cleanup(): Promise<void>;
}

/** A fresh data directory and, for PostgreSQL, a fresh database of its own. */
export async function makeTestEnv(driver: Driver, overrides: Record<string, unknown> = {}): Promise<TestEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certgate-test-'));
  let databaseUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  if (driver === 'postgres') {
    const base = new URL(process.env.DATABASE_URL!);
    const name = `certgate_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const u = new URL(base.toString());
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    dropDb = async () => {
      const a = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    };
  }
  const config = loadConfig(
    {},
    { dataDir, databaseUrl, httpPort: 0, httpsPort: 0, host: '127.0.0.1', logLevel: 'silent', metricsEnabled: false, ...overrides },
  );
  return {
    driver,
    dataDir,
    config,
    databaseUrl,
    async cleanup() {
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestContext extends TestEnv {
  ctx: Context;
}

/** A full Context (dev hierarchy, built-in profiles) on a fresh database. */
export async function makeTestContext(driver: Driver, overrides: Record<string, unknown> = {}): Promise<TestContext> {
  const env = await makeTestEnv(driver, overrides);
  const ctx = await createContext(env.config, { logger: pino({ level: 'silent' }) });
  return {
    ...env,
    ctx,
    async cleanup() {
      await ctx.close();
      await env.cleanup();
    },
  };
}

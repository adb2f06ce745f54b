import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';

const BAR_MB = 256;
const CLIENTS = 4;

/**
 * A CRL for an issuer with 1,000,000 revoked certificates (quick: 20,000; BENCH_CRL_COUNT
 * overrides): build, sign and store, timed in a child process so its peak RSS is the CRL work's
 * own; then a started server (another child) serves it to 4 simultaneous curl downloads, and its
 * peak RSS is reported too. Bar for both: 256 MB.
 */
export async function run(opts: { quick: boolean }): Promise<void> {
  const count = Number(process.env.BENCH_CRL_COUNT) || (opts.quick ? 20_000 : 1_000_000);
  const driver = (process.env.BENCH_CRL_DRIVER as 'pglite' | 'postgres' | undefined) ?? ((await pgReachable()) ? 'postgres' : 'pglite');
  console.log(`\n== CRL with ${fmt(count)} revoked certificates (${driver}) ==`);
  console.log(`  bar: build+sign+store and serving to ${CLIENTS} clients each within ${BAR_MB} MB peak RSS`);
  const db = await freshDb(driver);
  const ctx = await benchContext(db);
  const issuer = ctx.issuers.defaultIssuer()!;
  const t0 = performance.now();
  await insertFixture(ctx.db, issuer.id, count);
  console.log(`  fixture: ${fmt(count)} revoked rows inserted in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  await ctx.close();
  const env = { ...process.env, BENCH_DATA_DIR: db.dataDir, BENCH_DB_URL: db.url ?? '', BENCH_ISSUER: issuer.id };
  const child = spawnSync(process.execPath, [...nodeFlags(), '--import', 'tsx', fileURLToPath(new URL('./crl-child.ts', import.meta.url))], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`CRL child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { seconds: number; rssMb: number; peakBeforeMb: number; baselineRssMb: number; entries: number; bytes: number; file: string };
  const check = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', r.file, '-noout', '-crlnumber']).toString().trim();
  console.log(
    `  build+sign+store: ${fmt(r.seconds, 2)} s, ${fmt(r.entries)} entries, ${fmt(r.bytes / 1e6, 1)} MB DER; peak RSS ${fmt(r.rssMb)} MB (start-up peak ${fmt(r.peakBeforeMb)} MB, RSS before the build ${fmt(r.baselineRssMb)} MB) = ${(r.rssMb / BAR_MB).toFixed(2)} of the ${BAR_MB} MB bar; openssl crl: ${check}`,
  );
  await serveBench(env, issuer.id, db.dataDir, r.bytes);
  await db.drop();
}

function nodeFlags(): string[] {
  return process.env.BENCH_CRL_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
}

/** Fixture rows made by the database itself (generate_series): a million in seconds, not minutes. */
async function insertFixture(db: import('../src/db/client.ts').Db, issuerId: string, count: number): Promise<void> {
  const salt = randomBytes(8).toString('hex');
  for (let from = 1; from <= count; from += 100_000) {
    const to = Math.min(count, from + 99_999);
    await db.execute(sql`
      insert into certificates (id, issuer_id, serial, der, subject, not_before, not_after, profile, status, revoked_at, revocation_reason, spki_sha256, protocol, principal)
      select gen_random_uuid()::text, ${issuerId}, '01' || substr(md5(${salt} || i::text), 1, 30), '\\x00'::bytea, 'CN=fixture',
             now(), now() + interval '365 days', 'tls-server', 'revoked', now(), 1, 'x', 'internal', 'bench'
      from generate_series(${from}::int, ${to}::int) as i`);
  }
  // What autovacuum would do after a bulk load: without statistics the planner sorts every page.
  await db.execute(sql`analyze certificates`);
}

/** Starts a server child, downloads the CRL with 4 curl processes at once, reports the server's peak RSS. */
async function serveBench(env: NodeJS.ProcessEnv, issuerId: string, dir: string, bytes: number): Promise<void> {
  const server = spawn(process.execPath, [...nodeFlags(), '--import', 'tsx', fileURLToPath(new URL('./crl-serve-child.ts', import.meta.url))], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const { port, startMb } = JSON.parse((await lines.next()).value as string) as { port: number; startMb: number };
  const url = `http://127.0.0.1:${port}/crl/${issuerId}.crl`;
  const t0 = performance.now();
  const files = Array.from({ length: CLIENTS }, (_, i) => join(dir, `download-${i}.crl`));
  const codes = await Promise.all(
    files.map((f) => new Promise<number>((res) => spawn('curl', ['-sf', '-o', f, url], { stdio: 'ignore' }).on('exit', (c) => res(c ?? 1)))),
  );
  const seconds = (performance.now() - t0) / 1000;
  server.stdin!.write('report\n');
  const { peakMb } = JSON.parse((await lines.next()).value as string) as { peakMb: number };
  if (codes.some((c) => c !== 0)) throw new Error(`CRL download failed: curl exit codes ${codes.join(',')}`);
  const check = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', files[CLIENTS - 1], '-noout', '-crlnumber']).toString().trim();
  console.log(
    `  served to ${CLIENTS} clients at once: ${fmt(seconds, 2)} s for ${fmt((CLIENTS * bytes) / 1e6, 1)} MB; server peak RSS ${fmt(peakMb)} MB (after start ${fmt(startMb)} MB) = ${(peakMb / BAR_MB).toFixed(2)} of the ${BAR_MB} MB bar; openssl crl on a download: ${check}`,
  );
}

/** Writes the child's CRL somewhere openssl can read it. */
export function saveCrl(dir: string, der: Buffer): string {
  const f = join(dir, 'bench.crl');
  writeFileSync(f, der);
  return f;
}

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certificates } from '../src/db/schema.ts';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';

/**
 * A CRL for an issuer with 100,000 revoked certificates: build, sign and store, timed in a
 * child process so its peak RSS is the CRL work's own (bar: within 256 MB).
 */
export async function run(opts: { quick: boolean }): Promise<void> {
  const count = opts.quick ? 20_000 : 100_000;
  const driver = (await pgReachable()) ? 'postgres' : 'pglite';
  console.log(`\n== CRL with ${fmt(count)} revoked certificates (${driver}) ==`);
  console.log('  bar: the 100,000-entry CRL within 256 MB peak RSS');
  const db = await freshDb(driver);
  const ctx = await benchContext(db);
  const issuer = ctx.issuers.defaultIssuer()!;
  const now = new Date();
  const far = new Date(now.getTime() + 365 * 86400_000);
  const t0 = performance.now();
  // Fixture rows straight into the table: the pipeline is measured elsewhere.
  for (let i = 0; i < count; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, count - i) }, () => {
      const serial = randomBytes(16);
      serial[0] &= 0x7f;
      serial[0] |= 0x01;
      return {
        id: randomUUID(),
        issuerId: issuer.id,
        serial: serial.toString('hex'),
        der: Buffer.alloc(1),
        subject: 'CN=fixture',
        notBefore: now,
        notAfter: far,
        profile: 'tls-server',
        status: 'revoked',
        revokedAt: now,
        revocationReason: 1,
        spkiSha256: 'x',
        protocol: 'internal',
        principal: 'bench',
      };
    });
    await ctx.db.insert(certificates).values(rows);
  }
  console.log(`  fixture: ${fmt(count)} revoked rows inserted in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  await ctx.close();
  const child = spawnSync(process.execPath, [...(process.env.BENCH_CRL_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', fileURLToPath(new URL('./crl-child.ts', import.meta.url))], {
    env: { ...process.env, BENCH_DATA_DIR: db.dataDir, BENCH_DB_URL: db.url ?? '', BENCH_ISSUER: issuer.id },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`CRL child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { seconds: number; rssMb: number; peakBeforeMb: number; baselineRssMb: number; entries: number; bytes: number; file: string };
  const check = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', r.file, '-noout', '-crlnumber']).toString().trim();
  console.log(
    `  build+sign+store: ${fmt(r.seconds, 2)} s, ${fmt(r.entries)} entries, ${fmt(r.bytes / 1e6, 1)} MB DER; peak RSS ${fmt(r.rssMb)} MB (start-up peak ${fmt(r.peakBeforeMb)} MB, RSS before the build ${fmt(r.baselineRssMb)} MB) = ${(r.rssMb / 256).toFixed(2)} of the 256 MB bar; openssl crl: ${check}`,
  );
  await db.drop();
}

/** Writes the child's CRL somewhere openssl can read it. */
export function saveCrl(dir: string, der: Buffer): string {
  const f = join(dir, 'bench.crl');
  writeFileSync(f, der);
  return f;
}

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchContext, fmt, freshDb, opensslCsr, pgReachable, runLoad } from './support.ts';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * Stored P-256 issuance with the issuing CA's key on a SoftHSM2 token beside the same with the
 * sealed software key, in one run and one context (same database, same profile, same CSR), as a
 * ratio. SoftHSM2 is software too, so the ratio measures the PKCS#11 path (sessions, a thread-pool
 * hop per signature, r||s → DER), not an HSM's signing speed.
 */
export async function run(opts: { quick: boolean }): Promise<void> {
  if (!existsSync(MODULE)) {
    console.log(`\n== HSM (PKCS#11) issuance: skipped, ${MODULE} not installed (Debian softhsm2) ==`);
    return;
  }
  const tok = mkdtempSync(join(tmpdir(), 'certgate-bench-softhsm-'));
  mkdirSync(join(tok, 'tokens'));
  writeFileSync(join(tok, 'softhsm2.conf'), `directories.tokendir = ${join(tok, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(tok, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '12345678', '--pin', '1234'], { stdio: 'ignore' });
  const drivers: ('pglite' | 'postgres')[] = ['pglite'];
  if (await pgReachable()) drivers.push('postgres');
  const csr = opensslCsr(tok);
  const total = opts.quick ? 400 : 3000;
  console.log('\n== HSM (PKCS#11, SoftHSM2) beside software key: stored P-256 certificates/s, 32 concurrent ==');
  console.log('  software runs before and after the SoftHSM2 run; the ratio is against their mean');
  console.log(`  ${'db'.padEnd(9)} ${'sw before'.padStart(9)} ${'softhsm2'.padStart(9)} ${'sw after'.padStart(9)} ${'hsm p50'.padStart(8)} ${'hsm p99'.padStart(8)}  ratio`);
  try {
    for (const driver of drivers) {
      const db = await freshDb(driver);
      const ctx = await benchContext(db, { caKeyType: 'ec-p256', pkcs11Module: MODULE, pkcs11Token: 'bench', pkcs11Pin: '1234' });
      await ctx.issuers.create({ id: 'bench-hsm', name: 'Bench HSM CA', key: { type: 'EC', curve: 'P-256' }, keyStore: 'pkcs11', parentId: 'dev-root', validityDays: 365, pathLength: 0 });
      const issue = (issuerId: string) => () =>
        ctx.pipeline.issue({ principal: { id: 'bench', protocol: 'internal', authenticatedBy: 'local' }, profile: 'tls-server', issuerId, key: { kind: 'csr', der: csr } });
      await runLoad(200, 8, issue('dev-issuing'));
      await runLoad(200, 8, issue('bench-hsm'));
      // Software, HSM, software again: the first and last bracket any drift of the database.
      const sw1 = await runLoad(total / 2, 32, issue('dev-issuing'));
      const hsm = await runLoad(total, 32, issue('bench-hsm'));
      const sw2 = await runLoad(total / 2, 32, issue('dev-issuing'));
      const sw = (sw1.rate + sw2.rate) / 2;
      console.log(
        `  ${driver.padEnd(9)} ${fmt(sw1.rate).padStart(9)} ${fmt(hsm.rate).padStart(9)} ${fmt(sw2.rate).padStart(9)} ${fmt(hsm.p50, 2).padStart(8)} ${fmt(hsm.p99, 2).padStart(8)}  ${(hsm.rate / sw).toFixed(3)} of the software key's rate`,
      );
      await ctx.close();
      await db.drop();
    }
  } finally {
    rmSync(tok, { recursive: true, force: true });
  }
}

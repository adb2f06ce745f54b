import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLintFailure, lintSubject, type LintRules } from '../src/lint/index.ts';
import { parseCertificate } from '../src/pki/certificate.ts';
import { benchContext, fmt, freshDb, opensslCsr, pgReachable, runLoad } from './support.ts';

/** node:crypto's raw signing rate for one key type on this machine, over `ms` milliseconds. */
export function rawSignRate(type: 'ec-p256' | 'rsa-2048', ms = 1000): number {
  const { privateKey } = type === 'ec-p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.alloc(600, 7);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) sign('sha256', data, privateKey);
    n += 50;
  }
  return n / (ms / 1000);
}

/**
 * The raw RSA signing rate of every core: node:crypto signing on libuv's thread pool with as many
 * signatures in flight as the pool has threads — the limit for a pipeline that signs RSA there.
 */
export async function rawParallelSignRate(ms = 1500): Promise<{ rate: number; cores: number }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.alloc(600, 7);
  let n = 0;
  const end = performance.now() + ms;
  const one = () => new Promise<void>((resolve, reject) => sign('sha256', data, privateKey, (e) => (e ? reject(e) : resolve())));
  const lanes = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (performance.now() < end) {
      await one();
      n++;
    }
  }));
  return { rate: n / ((performance.now() - t0) / 1000), cores: cpus().length };
}

/**
 * Issuance through the whole pipeline with storage: CSR parse + signature check, profile
 * enforcement, validity, signing, group-committed insert with its audit event.
 */
export async function run(opts: { quick: boolean }): Promise<void> {
  const drivers: ('pglite' | 'postgres')[] = ['pglite'];
  if (await pgReachable()) drivers.push('postgres');
  else console.log('  (PostgreSQL not reachable: PGlite only)');
  const dir = mkdtempSync(join(tmpdir(), 'certgate-bench-csr-'));
  const csr = opensslCsr(dir);
  const total = opts.quick ? 600 : 4000;
  console.log('\n== Issuance pipeline (CSR → stored certificate), certificates/s ==');
  console.log('  bar: >= 1,000 stored P-256 certificates/s on PostgreSQL (XiPKI publishes 880/s on 4 cores)');
  console.log(`  ${'issuer'.padEnd(9)} ${'db'.padEnd(9)} ${'conc'.padStart(4)} ${'certs/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  ${'raw sign/s'.padStart(10)}  ratio`);
  for (const keyType of ['ec-p256', 'rsa-2048'] as const) {
    const raw = rawSignRate(keyType);
    // RSA signs on the thread pool (SoftwareSigner): its limit is the signing rate of every core.
    const all = keyType === 'rsa-2048' ? await rawParallelSignRate() : undefined;
    if (all) console.log(`  rsa-2048 raw signing: ${fmt(raw)}/s on one core, ${fmt(all.rate)}/s on all ${all.cores} (thread pool; bar: 0.70 of it at concurrency 32)`);
    for (const driver of drivers) {
      const db = await freshDb(driver);
      const ctx = await benchContext(db, { caKeyType: keyType });
      const issue = () =>
        ctx.pipeline.issue({
          principal: { id: 'bench', protocol: 'internal', authenticatedBy: 'local' },
          profile: 'tls-server',
          key: { kind: 'csr', der: csr },
        });
      await runLoad(200, 8, issue); // warm-up: JIT, connections, caches
      let rate32 = 0;
      for (const conc of [1, 32]) {
        const n = conc === 1 ? Math.min(total, opts.quick ? 300 : 1500) : total;
        const r = await runLoad(n, conc, issue);
        if (conc === 32) rate32 = r.rate;
        console.log(
          `  ${keyType.padEnd(9)} ${driver.padEnd(9)} ${String(conc).padStart(4)} ${fmt(r.rate).padStart(9)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p99, 2).padStart(8)}  ${fmt(raw).padStart(10)}  ${(r.rate / raw).toFixed(3)} of raw signing${all ? `, ${(r.rate / all.rate).toFixed(2)} of raw signing on all cores` : ''}`,
        );
      }
      if (driver === 'pglite') await lintCost(ctx, await issue(), keyType, rate32);
      await ctx.close();
      await db.drop();
    }
  }
}

/**
 * Lint before sign (src/lint) costs the event loop this much per certificate: run on a certificate
 * the pipeline just issued, against the stored rate of the same run. It is the most the stored rate
 * can fall by the lint (bar: 5 %), since the lint runs on the thread that limits the rate.
 */
async function lintCost(ctx: Awaited<ReturnType<typeof benchContext>>, result: Awaited<ReturnType<IssueFn>>, keyType: string, rate: number): Promise<void> {
  if (result.status !== 'issued') return;
  const cert = parseCertificate(result.certificate.der);
  const issuer = await ctx.issuers.get(result.certificate.issuerId);
  const profile = await ctx.profiles.get('tls-server');
  if (!issuer || !profile) return;
  // The rules the pipeline applies to this profile (src/issuance/pipeline.ts, sign).
  const rules: LintRules = {
    profile: profile.name,
    keyUsage: profile.keyUsage,
    extendedKeyUsage: lintSubject(cert.tbs).extendedKeyUsage() ?? [],
    tlsServer: true,
    ca: false,
    maxValiditySeconds: profile.validity.max + profile.validity.backdate,
    issuer: { notBefore: issuer.notBefore, notAfter: issuer.notAfter, keyId: issuer.keyId },
  };
  const tbs = cert.tbs;
  const failure = findLintFailure(tbs, rules);
  if (failure) console.log(`  (lint measurement: the sample fails ${failure.lint}: ${failure.message})`);
  for (let i = 0; i < 500; i++) findLintFailure(tbs, rules);
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) findLintFailure(tbs, rules);
  const us = ((performance.now() - t0) * 1000) / n;
  const share = (us * rate) / 1e6;
  console.log(`  ${keyType.padEnd(9)} lint before sign: ${us.toFixed(1)} µs per certificate = at most ${(share * 100).toFixed(1)} % of the stored rate at c32 (bar ≤ 5 %)`);
}

type IssueFn = () => ReturnType<Awaited<ReturnType<typeof benchContext>>['pipeline']['issue']>;

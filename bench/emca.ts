/**
 * emCA createCertificate over HTTP — envelope parse, emKey, AES-256 decrypt, scrypt-cached
 * password, IP check, CMS SignedData verify, issue, store — at concurrency 16 against a Certgate
 * started as its own process (`node bin/certgate.mjs serve --no-https`), printed beside the
 * pipeline's own rate (ctx.pipeline.issue in this process, same CSR, same profile, same
 * concurrency, a database of its own) measured in the same run, as a ratio.
 * EMCA_BENCH_PROF=<dir> makes the server write a V8 CPU profile there (for looking into the gap).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptRequestData } from '../protocols/emca/crypto.ts';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';
import { startCertgate, stopCertgate, timedLoad } from './server.ts';

const CONCURRENCY = 16;

export async function run(opts: { quick: boolean }): Promise<void> {
  const drivers: ('pglite' | 'postgres')[] = ['pglite'];
  if (!opts.quick && (await pgReachable())) drivers.push('postgres');
  const total = opts.quick ? 400 : 3000;
  const seconds = opts.quick ? 5 : 15;
  const warm = opts.quick ? 20 : 60;
  const dir = mkdtempSync(join(tmpdir(), 'certgate-bench-emca-'));
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-subj', '/O=Bench/CN=emca bench', '-outform', 'DER', '-out', join(dir, 'r.der')], { stdio: 'ignore' });
  const csr = readFileSync(join(dir, 'r.der'));

  console.log('\n== emCA createCertificate over HTTP vs the pipeline alone, requests/s (concurrency 16) ==');
  console.log('  HTTP: AES-256 decrypt, scrypt-cached password, IP check, CMS SignedData verify, issue, store; server in its own process');
  console.log('  (the server runs every protocol: its figure includes e.g. OCSP pre-signing of each new certificate; the load generator shares the machine)');
  console.log(`  (each figure: up to ${total} requests or ${seconds} s)`);
  console.log(`  ${'db'.padEnd(9)} ${'http req/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'pipeline/s'.padStart(11)}  ratio`);

  for (const driver of drivers) {
    // The pipeline-alone context is prepared while the server starts (setup only; measured later, alone).
    const pipelineSetup = freshDb(driver).then(async (db2) => ({ db2, ctx: await benchContext(db2) }));
    // 1. The server.
    const db = await freshDb(driver);
    const srv = await startCertgate(db.dataDir, db.url, { profDirEnv: 'EMCA_BENCH_PROF' });
    let http: Awaited<ReturnType<typeof timedLoad>>;
    let failures = 0;
    try {
      const reg = await fetch(`${srv.base}/api/v1/emca/clients`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'bench', ips: ['127.0.0.1', '::1'] }),
      });
      if (reg.status !== 201) throw new Error(`registration: ${reg.status} ${await reg.text()}`);
      const s = (await reg.json()) as { userName: string; password: string; emKey: string; aesKey: string; pfx: string; pfxPassword: string };
      writeFileSync(join(dir, 'c.p12'), Buffer.from(s.pfx, 'base64'));
      execFileSync('openssl', ['pkcs12', '-in', join(dir, 'c.p12'), '-passin', `pass:${s.pfxPassword}`, '-nokeys', '-clcerts', '-out', join(dir, 'c.crt')], { stdio: 'ignore' });
      execFileSync('openssl', ['pkcs12', '-in', join(dir, 'c.p12'), '-passin', `pass:${s.pfxPassword}`, '-nocerts', '-nodes', '-out', join(dir, 'c.key')], { stdio: 'ignore' });
      const signature = execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-md', 'sha256', '-signer', join(dir, 'c.crt'), '-inkey', join(dir, 'c.key'), '-in', join(dir, 'r.der')]).toString('base64');
      const key = Buffer.from(s.aesKey, 'base64');
      // Client-side work (encryption of each request) is done before the clock starts.
      const bodies = Array.from({ length: total + warm }, () =>
        JSON.stringify({
          requestData: encryptRequestData(key, 'ECB', JSON.stringify({ userName: s.userName, password: s.password, signature, profileName: 'tls-client', subscriberId: 'bench', applicationId: randomUUID() })),
          userName: s.userName,
        }),
      );
      let i = 0;
      const one = async () => {
        const res = await fetch(`${srv.base}/emCAServices/rest/createCertificate`, { method: 'POST', headers: { 'Content-Type': 'application/json', emKey: s.emKey }, body: bodies[i++] });
        const b = (await res.json()) as { status: string };
        if (b.status !== 'success') failures++;
      };
      await timedLoad(warm, 10, CONCURRENCY, one); // warm-up
      http = await timedLoad(total, seconds, CONCURRENCY, one);
    } catch (e) {
      await pipelineSetup.then(({ db2, ctx }) => ctx.close().then(() => db2.drop())).catch(() => {});
      throw e;
    } finally {
      await stopCertgate(srv.child);
      await db.drop();
    }

    // 2. The pipeline alone, same run.
    const { db2, ctx } = await pipelineSetup;
    const issue = () =>
      ctx.pipeline.issue({
        principal: { id: 'emca:client:bench', protocol: 'emca', authenticatedBy: 'cms-signature' },
        profile: 'tls-client',
        key: { kind: 'csr', der: csr },
        idempotencyKey: randomUUID(),
        metadata: { subscriberId: 'bench' },
      });
    await timedLoad(warm, 10, CONCURRENCY, issue);
    const pipe = await timedLoad(total, seconds, CONCURRENCY, issue);
    await ctx.close();
    await db2.drop();

    console.log(
      `  ${driver.padEnd(9)} ${fmt(http.rate).padStart(10)} ${fmt(http.p50, 2).padStart(8)} ${fmt(http.p99, 2).padStart(8)} ${fmt(pipe.rate).padStart(11)}  ${(http.rate / pipe.rate).toFixed(2)} of the pipeline${failures ? `  (${failures} failed!)` : ''}`,
    );
    if (failures) throw new Error(`${failures} createCertificate calls failed`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}

/**
 * EST /simpleenroll over TLS with HTTP Basic at concurrency 16 against a Certgate started as its
 * own process: once with a new TLS connection (full handshake, no session reuse) per enrolment,
 * as devices do, and once with keep-alive; beside the pipeline's own rate (ctx.pipeline.issue in
 * this process, same CSRs, same profile, same concurrency, a database of its own) in the same run.
 * Bar: keep-alive ≥ 0.5 of the pipeline. Each enrolment uses its own key (the idempotency key is
 * principal + CSR key), made before the clock starts.
 * EST_BENCH_PROF=<dir> makes the server write a V8 CPU profile there; EST_BENCH_DB=postgres|pglite
 * picks one database.
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { signatureAlgorithmFor } from '../src/pki/certificate.ts';
import { bitString, implicitConstructed, integer, oid, seq, set } from '../src/pki/der.ts';
import { subjectAltName } from '../src/pki/extensions.ts';
import { encodeName, toEncodedAttributes } from '../src/pki/name.ts';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';
import { startCertgate, stopCertgate, timedLoad } from './server.ts';

const CONCURRENCY = 16;

/** P-256 PKCS#10 requests with the CN as a dNSName SAN, each with its own key. */
function csrs(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cn = `dev${i}.bench.example`;
    const info = seq(
      integer(0),
      encodeName(toEncodedAttributes([{ type: 'CN', value: cn }])),
      publicKey.export({ format: 'der', type: 'spki' }),
      implicitConstructed(0, seq(oid('1.2.840.113549.1.9.14'), set(seq(subjectAltName([{ type: 'dns', value: cn }]))))),
    );
    const alg = signatureAlgorithmFor(privateKey);
    return seq(info, alg.algorithmIdentifier, bitString(sign(alg.hash, info, privateKey)));
  });
}

function enrol(port: number, root: string, agent: Agent, auth: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port, path: '/.well-known/est/simpleenroll', method: 'POST', ca: root, agent, headers: { 'content-type': 'application/pkcs10', authorization: auth, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // A kept-alive socket the server closed just as it was reused: retry once on a new one (the
    // case node's documentation describes for reusedSocket).
    req.on('error', (e) => (req.reusedSocket ? enrol(port, root, agent, auth, body).then(resolve, reject) : reject(e)));
    req.end(body);
  });
}

export async function run(opts: { quick: boolean }): Promise<void> {
  let drivers: ('pglite' | 'postgres')[] = ['pglite'];
  if (!opts.quick && (await pgReachable())) drivers.push('postgres');
  if (process.env.EST_BENCH_DB === 'postgres' || process.env.EST_BENCH_DB === 'pglite') drivers = [process.env.EST_BENCH_DB];
  const total = opts.quick ? 300 : 2000;
  const seconds = opts.quick ? 5 : 15;
  const warm = opts.quick ? 20 : 60;
  const requests = csrs(3 * (total + warm));
  const bodies = requests.map((d) => d.toString('base64'));

  console.log('\n== EST simpleenroll over TLS with HTTP Basic vs the pipeline alone, enrolments/s (concurrency 16) ==');
  console.log('  server in its own process; "new TLS" = a full handshake per enrolment (no session reuse), as devices do');
  console.log(`  (each figure: up to ${total} enrolments or ${seconds} s)`);
  console.log(`  ${'db'.padEnd(9)} ${'new TLS/s'.padStart(10)} ${'p50 ms'.padStart(7)} ${'keep-alive/s'.padStart(13)} ${'p50 ms'.padStart(7)} ${'pipeline/s'.padStart(11)}  keep-alive ratio (bar 0.5)`);

  for (const driver of drivers) {
    const pipelineSetup = freshDb(driver).then(async (db2) => ({ db2, ctx: await benchContext(db2) }));
    const db = await freshDb(driver);
    const srv = await startCertgate(db.dataDir, db.url, { https: true, profDirEnv: 'EST_BENCH_PROF' });
    let fresh: Awaited<ReturnType<typeof timedLoad>>;
    let kept: Awaited<ReturnType<typeof timedLoad>>;
    let failures = 0;
    let next = 0;
    try {
      const add = await fetch(`${srv.base}/api/v1/est/users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ label: 'default', name: 'bench' }),
      });
      if (add.status !== 201) throw new Error(`est user add: ${add.status} ${await add.text()}`);
      const { password } = (await add.json()) as { password: string };
      const auth = `Basic ${Buffer.from(`bench:${password}`).toString('base64')}`;
      const once = new Agent({ keepAlive: false, maxCachedSessions: 0 });
      const pooled = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const one = (agent: Agent) => async () => {
        const status = await enrol(srv.httpsPort!, srv.root, agent, auth, bodies[next++]);
        if (status !== 200) failures++;
      };
      await timedLoad(warm, 10, CONCURRENCY, one(pooled));
      fresh = await timedLoad(total, seconds, CONCURRENCY, one(once));
      kept = await timedLoad(total, seconds, CONCURRENCY, one(pooled));
      pooled.destroy();
    } catch (e) {
      await pipelineSetup.then(({ db2, ctx }) => ctx.close().then(() => db2.drop())).catch(() => {});
      throw e;
    } finally {
      await stopCertgate(srv.child);
      await db.drop();
    }

    const { db2, ctx } = await pipelineSetup;
    let k = 0;
    const issue = () =>
      ctx.pipeline.issue({
        principal: { id: 'est:default:user:bench', protocol: 'est', authenticatedBy: 'password' },
        profile: 'device',
        key: { kind: 'csr', der: requests[k++ % requests.length] },
        idempotencyKey: randomUUID(),
      });
    await timedLoad(warm, 10, CONCURRENCY, issue);
    const pipe = await timedLoad(total, seconds, CONCURRENCY, issue);
    await ctx.close();
    await db2.drop();

    console.log(
      `  ${driver.padEnd(9)} ${fmt(fresh.rate).padStart(10)} ${fmt(fresh.p50, 1).padStart(7)} ${fmt(kept.rate).padStart(13)} ${fmt(kept.p50, 1).padStart(7)} ${fmt(pipe.rate).padStart(11)}  ${(kept.rate / pipe.rate).toFixed(2)} (new TLS ${(fresh.rate / pipe.rate).toFixed(2)})${failures ? `  (${failures} failed!)` : ''}`,
    );
    if (failures) throw new Error(`${failures} simpleenroll calls failed`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}

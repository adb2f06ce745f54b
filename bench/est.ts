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
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signatureAlgorithmFor } from '../src/pki/certificate.ts';
import { bitString, implicitConstructed, integer, oid, seq, set } from '../src/pki/der.ts';
import { subjectAltName } from '../src/pki/extensions.ts';
import { encodeName, toEncodedAttributes } from '../src/pki/name.ts';
import { benchContext, fmt, freshDb, percentile, pgReachable } from './support.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONCURRENCY = 16;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

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

async function startCertgate(dataDir: string, url: string | undefined) {
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CERTGATE_DATA_DIR: dataDir,
    CERTGATE_HTTP_PORT: String(httpPort),
    CERTGATE_HTTPS_PORT: String(httpsPort),
    CERTGATE_HOST: '127.0.0.1',
    CERTGATE_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
    CERTGATE_LOG_LEVEL: 'warn',
  };
  if (url) env.DATABASE_URL = url;
  else delete env.DATABASE_URL;
  const prof = process.env.EST_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.EST_BENCH_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, join(ROOT, 'bin/certgate.mjs'), 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const info = join(dataDir, 'server.json');
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`certgate exited: ${stderr.slice(-500)}`);
    if (existsSync(info)) {
      try {
        if ((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok) {
          return { child, http: `http://127.0.0.1:${httpPort}`, httpsPort, token: (JSON.parse(readFileSync(info, 'utf8')) as { token: string }).token, root: readFileSync(join(dataDir, 'root.pem'), 'utf8') };
        }
      } catch {
        /* not yet */
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error('certgate did not start');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** `fn(i)` with `concurrency` in flight until `max` calls or `seconds` elapsed. */
async function timedLoad(max: number, seconds: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < max && performance.now() < deadline) {
        const i = started++;
        const s = performance.now();
        await fn(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length };
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
    const srv = await startCertgate(db.dataDir, db.url);
    let fresh: Awaited<ReturnType<typeof timedLoad>>;
    let kept: Awaited<ReturnType<typeof timedLoad>>;
    let failures = 0;
    let next = 0;
    try {
      const add = await fetch(`${srv.http}/api/v1/est/users`, {
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
        const status = await enrol(srv.httpsPort, srv.root, agent, auth, bodies[next++]);
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
      await stop(srv.child);
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

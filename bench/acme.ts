/**
 * ACME benchmark: complete flows (account once per worker; per order newOrder, authorization,
 * http-01 answered by the load client's own responder, finalize, poll, download) at concurrency 1
 * and 16 against Certgate and Pebble (Debian `pebble`), with the same client. Prints flows/s,
 * p50/p99 latency and each server's own CPU time per completed order (utime+stime from
 * /proc/<pid>/stat), and the ratios Certgate/Pebble.
 *
 *   node --import tsx bench/acme.ts [--quick]
 *
 * Certgate runs as its own process (`node bin/certgate.mjs serve`, temp data dir), twice: on PGlite
 * inside the process (its CPU then counts as Certgate's) and on a fresh PostgreSQL database when the
 * local server is reachable (its CPU is printed apart). With DATABASE_URL set: on that database only.
 * Then, on a fresh PostgreSQL database, the floor (bench/acme-floor-server.ts): a bare node:https
 * program doing only the per-order work Certgate's design cannot drop, driven by the same client —
 * its CPU per order against Pebble's says what the bar leaves for everything else.
 * Profiling knobs: BENCH_CERTGATE_NODE_ARGS (e.g. `--cpu-prof`), BENCH_CERTGATE_BIN (another entry
 * point), BENCH_CERTGATE_STDOUT=1 (show the server's stdout, e.g. for `--trace-deopt`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcmeClient, Http01Responder, completeOrder, newKey, type Fetch } from '../test/acme/client.ts';
import { PG_URL, freshDb, pgReachable, type BenchDb } from './support.ts';

const repo = resolve(fileURLToPath(import.meta.url), '../..');
const CLK_TCK = 100;

/** utime and stime (s) of a process, from /proc/<pid>/stat; undefined once it is gone. */
function procTimes(pid: number | string): { user: number; sys: number; comm: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) are at index 11 and 12 after the comm field.
  return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
}

function cpuTimes(pid: number): { user: number; sys: number } {
  return procTimes(pid) ?? { user: 0, sys: 0 };
}

/**
 * CPU seconds of the local PostgreSQL server's processes (postmaster, backends, WAL writer): the
 * database's share of the work, which is not in Certgate's own figure. Other activity on the
 * server would count too; nothing else runs during the benchmark.
 */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const t = procTimes(p);
    if (t?.comm === 'postgres') total += t.user + t.sys;
  }
  return total;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = netServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

/** fetch over node:https with a keep-alive agent and a given trust anchor. */
function httpsFetch(ca: string | undefined, counter: { n: number }, connections = 32): Fetch {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca, rejectUnauthorized: !!ca });
  return (url, init) =>
    new Promise((resolveP, reject) => {
      counter.n++;
      const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
      const body = init.body as string | undefined;
      if (body) headers['Content-Length'] = String(Buffer.byteLength(body));
      const req = request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          const status = res.statusCode ?? 0;
          const noBody = status === 204 || status === 304 || init.method === 'HEAD';
          resolveP(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      // A server that never answers must fail the flow, not hang the benchmark.
      req.setTimeout(30_000, () => req.destroy(new Error(`${init.method ?? 'GET'} ${url}: no answer within 30 s`)));
      if (body) req.write(body);
      req.end();
    });
}

async function waitFor(url: string, fetchFn: Fetch, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetchFn(url, { method: 'GET' });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Server {
  name: string;
  pid: number;
  directory: string;
  fetchFn: Fetch;
  /** Requests sent through fetchFn so far. */
  requests: { n: number };
  /** Stores its state in the local PostgreSQL server (whose CPU is then measured too). */
  usesPostgres?: boolean;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** Starts Certgate on PostgreSQL at `databaseUrl` (a fresh database), else on PGlite in its data dir. */
export async function startCertgate(work: string, http01Port: number, databaseUrl = process.env.DATABASE_URL): Promise<Server> {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const label = databaseUrl ? 'PostgreSQL' : 'PGlite';
  const dataDir = join(work, `certgate-${label}`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const nodeArgs = (process.env.BENCH_CERTGATE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_CERTGATE_BIN: another entry point (profiling, e.g. without some protocol mounted).
  const bin = process.env.BENCH_CERTGATE_BIN || join(repo, 'bin/certgate.mjs');
  const child = spawn(process.execPath, [...nodeArgs, bin, 'serve'], {
    cwd: repo,
    env: {
      ...env,
      CERTGATE_DATA_DIR: dataDir,
      CERTGATE_HOST: '127.0.0.1',
      CERTGATE_HTTP_PORT: String(httpPort),
      CERTGATE_HTTPS_PORT: String(httpsPort),
      CERTGATE_LOG_LEVEL: process.env.CERTGATE_LOG_LEVEL ?? 'warn',
      CERTGATE_METRICS: 'true',
      CERTGATE_ACME_ALLOW_PRIVATE_TARGETS: '1',
      CERTGATE_ACME_HTTP01_PORT: String(http01Port),
      CERTGATE_ACME_RATE_ORDERS_PER_ACCOUNT: '0',
      CERTGATE_ACME_RATE_ORDERS_PER_IP: '0',
      CERTGATE_ACME_RATE_ACCOUNTS_PER_IP: '0',
      // Every order validated, as Pebble with PEBBLE_AUTHZREUSE=0.
      CERTGATE_ACME_AUTHZ_REUSE: '0',
    },
    stdio: ['ignore', process.env.BENCH_CERTGATE_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });
  const rootFile = join(dataDir, 'root.pem');
  const end = Date.now() + 60_000;
  while (!existsSync(rootFile)) {
    if (child.exitCode !== null) throw new Error('certgate exited');
    if (Date.now() > end) throw new Error('certgate did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const requests = { n: 0 };
  const fetchFn = httpsFetch(readFileSync(rootFile, 'utf8'), requests);
  const directory = `https://localhost:${httpsPort}/acme/directory`;
  await waitFor(directory, fetchFn, 30_000);
  return { name: `Certgate/${label}`, pid: child.pid!, directory, fetchFn, requests, usesPostgres: !!databaseUrl, stop: () => stopChild(child) };
}

/** A directory under `work` holding a self-signed P-256 cert.pem/key.pem for localhost (a peer server's TLS). */
function tlsDir(work: string, name: string): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return dir;
}

export async function startPebble(work: string, http01Port: number): Promise<Server | undefined> {
  try {
    execFileSync('pebble', ['-h'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  const port = await freePort();
  const mgmt = await freePort();
  const dir = tlsDir(work, 'pebble');
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: http01Port,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = spawn('pebble', ['-config', join(dir, 'config.json')], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', PEBBLE_VA_ALWAYS_VALID: '0' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const requests = { n: 0 };
  const fetchFn = httpsFetch(readFileSync(join(dir, 'cert.pem'), 'utf8'), requests);
  const directory = `https://localhost:${port}/dir`;
  await waitFor(directory, fetchFn, 20_000);
  return { name: 'Pebble', pid: child.pid!, directory, fetchFn, requests, stop: () => stopChild(child) };
}

/**
 * The floor (bench/acme-floor-server.ts): a bare node:https program doing only the work per order
 * that Certgate's design cannot drop (TLS, JWS and CSR verification, two signatures, the 7 statements
 * on PostgreSQL, the http-01 GET). Its CPU per order is what the bar is measured against below.
 */
export async function startFloor(work: string, http01Port: number, databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const dir = tlsDir(work, 'floor');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'bench/acme-floor-server.ts'), join(dir, 'cert.pem'), join(dir, 'key.pem'), databaseUrl, String(port), String(http01Port)], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const requests = { n: 0 };
  const fetchFn = httpsFetch(readFileSync(join(dir, 'cert.pem'), 'utf8'), requests);
  const directory = `https://localhost:${port}/dir`;
  await waitFor(directory, fetchFn, 30_000);
  return { name: 'Node floor', pid: child.pid!, directory, fetchFn, requests, usesPostgres: true, stop: () => stopChild(child) };
}

interface Result {
  flows: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuPerOrderMs: number;
  /** Share of that CPU time spent in the kernel (stime). */
  sysShare: number;
  /** CPU of the PostgreSQL server per order (Certgate on PostgreSQL only). */
  dbCpuPerOrderMs: number;
  /** CPU of this process (the load client and its http-01 responder) per order. */
  clientCpuPerOrderMs: number;
  requestsPerFlow: number;
  errors: number;
}

/**
 * Flows at `concurrency` for `seconds` after `warmupSeconds` of the same load (not measured: JIT,
 * connections, caches — a steady state, as for any long-running server).
 */
export async function measure(server: Server, responder: Http01Responder, csrDer: Buffer, concurrency: number, seconds: number, warmupSeconds: number): Promise<Result> {
  const key = await newKey('ES256');
  const clients: AcmeClient[] = [];
  const first = await new AcmeClient(server.directory, key, server.fetchFn).init();
  const acct = await first.newAccount({ termsOfServiceAgreed: true });
  if (acct.status !== 201 && acct.status !== 200) throw new Error(`${server.name} newAccount: ${acct.status} ${acct.text}`);
  clients.push(first);
  for (let i = 1; i < concurrency; i++) {
    const c = await new AcmeClient(server.directory, key, server.fetchFn).init();
    c.kid = first.kid;
    clients.push(c);
  }
  const ids = [{ type: 'dns', value: 'localhost' }];
  // Warm-up: at least one flow per client, then until warmupSeconds have passed.
  const warmEnd = performance.now() + warmupSeconds * 1000;
  await Promise.all(clients.map(async (c) => {
    do await completeOrder(c, responder, ids, csrDer, 5);
    while (performance.now() < warmEnd);
  }));
  const latencies: number[] = [];
  let errors = 0;
  const cpu0 = cpuTimes(server.pid);
  const own0 = process.cpuUsage();
  const db0 = postgresCpuSeconds();
  const req0 = server.requests.n;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await completeOrder(c, responder, ids, csrDer, 5);
          latencies.push(performance.now() - s);
        } catch (e) {
          errors++;
          if (errors <= 3) console.error(`  ${server.name}: ${(e as Error).message.slice(0, 300)}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuTimes(server.pid);
  const own = process.cpuUsage(own0);
  const dbCpu = postgresCpuSeconds() - db0;
  const cpu = cpu1.user - cpu0.user + (cpu1.sys - cpu0.sys);
  const sysShare = cpu > 0 ? (cpu1.sys - cpu0.sys) / cpu : NaN;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    flows: latencies.length,
    seconds: elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    cpuPerOrderMs: latencies.length ? (cpu * 1000) / latencies.length : NaN,
    sysShare,
    dbCpuPerOrderMs: server.usesPostgres && latencies.length ? (dbCpu * 1000) / latencies.length : NaN,
    clientCpuPerOrderMs: latencies.length ? (own.user + own.system) / 1000 / latencies.length : NaN,
    requestsPerFlow: latencies.length ? (server.requests.n - req0) / latencies.length : NaN,
    errors,
  };
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

export async function run(opts: { quick: boolean }): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'certgate-bench-acme-'));
  const responder = await new Http01Responder().start(0, '::');
  const servers: Server[] = [];
  let pg: BenchDb | undefined;
  let floorDb: BenchDb | undefined;
  try {
    execFileSync('openssl', [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'k.pem'),
      '-subj', '/', '-addext', 'subjectAltName=DNS:localhost', '-outform', 'DER', '-out', join(work, 'csr.der'),
    ], { stdio: 'ignore' });
    const csrDer = readFileSync(join(work, 'csr.der'));
    // Certgate on PGlite (the default, in-process: its CPU counts as Certgate's) and on a fresh
    // PostgreSQL database when one is reachable (DATABASE_URL: that database only), then Pebble. One
    // server runs at a time: started, measured at every concurrency, stopped.
    const starters: { name: string; start: () => Promise<Server | undefined> }[] = [];
    const pgOk = !process.env.DATABASE_URL && (await pgReachable());
    if (process.env.DATABASE_URL) starters.push({ name: 'Certgate/PostgreSQL', start: () => startCertgate(work, responder.port, process.env.DATABASE_URL) });
    else {
      starters.push({ name: 'Certgate/PGlite', start: () => startCertgate(work, responder.port, '') });
      if (pgOk) {
        starters.push({
          name: 'Certgate/PostgreSQL',
          start: async () => startCertgate(work, responder.port, (pg = await freshDb('postgres')).url),
        });
      } else console.log(`  (PostgreSQL is not reachable at ${PG_URL}: Certgate on PGlite only)`);
    }
    starters.push({ name: 'Pebble', start: () => startPebble(work, responder.port) });
    // The floor makes its own tables: on a fresh database only, not on DATABASE_URL's.
    if (pgOk) {
      starters.push({ name: 'Node floor', start: async () => startFloor(work, responder.port, (floorDb = await freshDb('postgres')).url!) });
    }

    const plan: [number, number][] = opts.quick ? [[1, 2], [16, 3]] : [[1, 8], [16, 12]];
    const warmup = opts.quick ? 1 : 4;
    const results: Record<string, Record<number, Result>> = {};
    for (const st of starters) {
      const s = await st.start();
      if (!s) {
        console.log('  (pebble is not installed: apt-get install -y pebble — Certgate figures only)');
        continue;
      }
      servers.push(s);
      for (const [conc, secs] of plan) {
        process.stderr.write(`  measuring ${s.name} at concurrency ${conc} for ${secs} s after ${warmup} s of warm-up …\n`);
        (results[s.name] ??= {})[conc] = await measure(s, responder, csrDer, conc, secs, warmup);
      }
      await s.stop();
    }
    console.log(`\nACME complete flows (newOrder → authz → http-01 → finalize → [polls] → download), ${opts.quick ? 'quick' : 'full'} run; each figure after ${warmup} s of the same load`);
    console.log('server               conc  flows  flows/s   p50 ms   p99 ms   CPU ms/order  (kernel)  DB CPU ms/order  client CPU ms/order  req/flow  errors');
    for (const [conc] of plan) {
      for (const s of servers) {
        const r = results[s.name][conc];
        console.log(
          `${s.name.padEnd(19)} ${String(conc).padStart(5)} ${String(r.flows).padStart(6)} ${fmt(r.flows / r.seconds).padStart(8)} ${fmt(r.p50).padStart(8)} ${fmt(r.p99).padStart(8)} ${fmt(r.cpuPerOrderMs, 2).padStart(14)} ${(fmt(r.sysShare * 100, 0) + '%').padStart(9)} ${fmt(r.dbCpuPerOrderMs, 2).padStart(16)} ${fmt(r.clientCpuPerOrderMs, 2).padStart(20)} ${fmt(r.requestsPerFlow).padStart(9)} ${String(r.errors).padStart(7)}`,
        );
      }
    }
    // At concurrency 16 the server, its database and the load client share this machine's cores:
    // flows/s then follow the sum of their CPU per order.
    console.log('\nCPU per order, all processes (server + database + load client), and cores busy:');
    for (const [conc] of plan) {
      for (const s of servers) {
        const r = results[s.name][conc];
        const sum = r.cpuPerOrderMs + (Number.isFinite(r.dbCpuPerOrderMs) ? r.dbCpuPerOrderMs : 0) + r.clientCpuPerOrderMs;
        console.log(`  ${s.name.padEnd(19)} conc ${String(conc).padStart(2)}: ${fmt(sum, 2)} ms/order, ${fmt((sum * r.flows) / r.seconds / 1000, 2)} of ${cpus().length} cores`);
      }
    }
    if (results.Pebble) {
      console.log('\nratios Certgate / Pebble (bar: CPU/order ≤ 0.5, flows/s at 16 ≥ 1.0; DB CPU is the PostgreSQL server\'s, not in CPU/order)');
      for (const s of servers.filter((x) => x.name.startsWith('Certgate'))) {
        for (const [conc] of plan) {
          const c = results[s.name][conc];
          const p = results.Pebble[conc];
          console.log(
            `  ${s.name.padEnd(19)} conc ${String(conc).padStart(2)}: flows/s ${fmt(c.flows / c.seconds / (p.flows / p.seconds), 2)}  p50 ${fmt(c.p50 / p.p50, 2)}  p99 ${fmt(c.p99 / p.p99, 2)}  CPU/order ${fmt(c.cpuPerOrderMs / p.cpuPerOrderMs, 2)}${Number.isFinite(c.dbCpuPerOrderMs) ? `  (CPU+DB)/order ${fmt((c.cpuPerOrderMs + c.dbCpuPerOrderMs) / p.cpuPerOrderMs, 2)}` : ''}`,
          );
        }
      }
    }
    const floor = results['Node floor'];
    if (floor && results.Pebble) {
      console.log('\nthe floor (bench/acme-floor-server.ts: node:https + postgres.js doing only the TLS, JWS/CSR verification, signatures, 7 statements and http-01 GET of an order):');
      for (const [conc] of plan) {
        const f = floor[conc];
        const p = results.Pebble[conc];
        const c = results['Certgate/PostgreSQL']?.[conc];
        console.log(
          `  conc ${String(conc).padStart(2)}: floor ${fmt(f.cpuPerOrderMs, 2)} ms/order = ${fmt(f.cpuPerOrderMs / p.cpuPerOrderMs, 2)} × Pebble's (the bar asks ≤ 0.5 × of Certgate)${c ? `; Certgate/PostgreSQL ${fmt(c.cpuPerOrderMs / f.cpuPerOrderMs, 2)} × the floor` : ''}`,
        );
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    await responder.stop();
    await pg?.drop();
    await floorDb?.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run({ quick: process.argv.includes('--quick') }).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/**
 * Memory (issue 20 item 5): Certgate's resident set size at idle and under load, on PGlite and on
 * PostgreSQL, beside the limits it is judged against (idle < 150 MB, under load < 300 MB). The server
 * runs as `npm start` runs it (its own process, MALLOC_ARENA_MAX=2); RSS is read from /proc.
 *
 * For each database: a first start on a new data directory (initdb, migrations, the dev CA), idle;
 * a restart, idle; then admin-API issuance at concurrency 16 with OCSP lookups beside it, sampling
 * the peak.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeName, toEncodedAttributes } from '../src/pki/name.ts';
import { buildCsr } from '../src/pki/csr.ts';
import { startCertgate, stopCertgate, timedLoad, type BenchServer } from './server.ts';
import { fmt, freshDb, pgReachable } from './support.ts';

const IDLE_LIMIT_MB = 150;
const LOAD_LIMIT_MB = 300;

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS once the process has been quiet for `settleMs` (timers, lazy work and the first GCs done). */
async function idleRss(srv: BenchServer, settleMs: number): Promise<number> {
  await new Promise((r) => setTimeout(r, settleMs));
  return rssMb(srv.child.pid!);
}

function csrs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const subject = encodeName(toEncodedAttributes([{ type: 'CN', value: `mem-${i}.example.com` }]));
    return buildCsr({ subject, key: privateKey }).toString('base64');
  });
}

async function loadPeak(srv: BenchServer, seconds: number, pool: string[]): Promise<{ peak: number; rate: number; n: number }> {
  let peak = rssMb(srv.child.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(srv.child.pid!))), 200);
  const headers = { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' };
  const r = await timedLoad(1e9, seconds, 16, async (i) => {
    const res = await fetch(`${srv.base}/api/v1/certificates`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ csr: pool[i % pool.length], profile: 'tls-server', idempotencyKey: `mem-${i}` }),
    });
    await res.arrayBuffer();
    if (res.status !== 201 && res.status !== 200) throw new Error(`issuance answered ${res.status}`);
  });
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(srv.child.pid!));
  return { peak, rate: r.rate, n: r.n };
}

function line(label: string, mb: number, limit: number): string {
  return `  ${label.padEnd(34)} ${fmt(mb).padStart(5)} MB   limit ${limit} MB   ratio ${(mb / limit).toFixed(2)} ${mb <= limit ? 'ok' : 'OVER'}`;
}

async function one(driver: 'pglite' | 'postgres', quick: boolean, pool: string[]): Promise<void> {
  const db = await freshDb(driver);
  try {
    let srv = await startCertgate(db.dataDir, db.url);
    const first = await idleRss(srv, quick ? 5000 : 15000);
    await stopCertgate(srv.child);
    srv = await startCertgate(db.dataDir, db.url);
    const restart = await idleRss(srv, quick ? 5000 : 15000);
    const load = await loadPeak(srv, quick ? 8 : 30, pool);
    const after = await idleRss(srv, quick ? 3000 : 10000);
    await stopCertgate(srv.child);
    console.log(`${driver}:`);
    console.log(line('idle after first start', first, IDLE_LIMIT_MB));
    console.log(line('idle after restart', restart, IDLE_LIMIT_MB));
    console.log(line(`peak under load (${fmt(load.rate)}/s, ${load.n} certs)`, load.peak, LOAD_LIMIT_MB));
    console.log(line('idle after the load', after, IDLE_LIMIT_MB));
  } finally {
    await db.drop();
  }
}

export async function run({ quick }: { quick: boolean }): Promise<void> {
  console.log('\n== memory: RSS of `certgate serve` (as npm start runs it)');
  const pool = csrs(quick ? 200 : 1000);
  await one('pglite', quick, pool);
  if (await pgReachable()) await one('postgres', quick, pool);
  else console.log('postgres: skipped (PostgreSQL unreachable)');
}

if (import.meta.url === `file://${process.argv[1]}`) await run({ quick: process.argv.includes('--quick') });

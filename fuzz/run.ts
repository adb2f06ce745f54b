/**
 * `npm run fuzz [-- --quick] [--count N] [--time S] [--protocol a,b] [--db pglite|postgres|both]
 *  [--seed N] [--concurrency N] [--port P]`
 *
 * Starts Certgate on loopback (PGlite; and a fresh PostgreSQL database when DATABASE_URL is set),
 * then for every target in fuzz/targets/ throws its inputs (mutated real requests and generated
 * ones, plus HTTP-level variations) and reports per protocol: inputs, 4xx, 5xx, hangs (> 5 s),
 * crashes, RSS before and after. Exits non-zero on any 5xx, hang or crash, or RSS growth > 20 %.
 */
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mutateHttp } from './mutate/http.ts';
import { Rng } from './rng.ts';
import { send } from './send.ts';
import { startCertgate, type Certgate } from './server.ts';
import type { FuzzInput, FuzzServer, FuzzTarget } from './types.ts';

interface Args {
  count: number;
  timeSeconds: number;
  protocols?: string[];
  dbs: ('pglite' | 'postgres')[];
  seed: number;
  concurrency: number;
  port: number;
  hangMs: number;
  /** Fail on RSS growth over 20 %: full runs only; a short pass is too short for memory to settle. */
  rssGate: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const dbArg = get('db') ?? (process.env.DATABASE_URL ? 'both' : 'pglite');
  const dbs = dbArg === 'both' ? (['pglite', 'postgres'] as const) : ([dbArg] as ('pglite' | 'postgres')[]);
  if (dbs.includes('postgres') && !process.env.DATABASE_URL) throw new Error('--db postgres needs DATABASE_URL (a server where a fresh database can be created)');
  return {
    count: Number(get('count') ?? (quick ? 3000 : 100_000)),
    timeSeconds: Number(get('time') ?? (quick ? 150 : 3600)),
    protocols: get('protocol')?.split(','),
    dbs: [...dbs],
    seed: Number(get('seed') ?? Date.now() % 1e9),
    concurrency: Number(get('concurrency') ?? 8),
    // 0: the first free pair from 19400 on (HTTP, HTTPS), so two runs (or a run beside CI) can share a machine.
    port: Number(get('port') ?? 0),
    hangMs: Number(get('hang-ms') ?? 5000),
    rssGate: !quick,
  };
}

interface Row {
  db: string;
  protocol: string;
  inputs: number;
  ok: number;
  c4xx: number;
  c5xx: number;
  hangs: number;
  /** Inputs that took over the hang limit under load but were answered in time when re-sent alone. */
  slow: number;
  aborted: number;
  connErrors: number;
  crashes: number;
  rssBefore: number;
  rssAfter: number;
  /** Highest RSS read (once a second) while inputs were being sent. */
  rssPeak: number;
  seconds: number;
  /** Answer times in ms: median, 99th percentile, slowest. */
  p50: number;
  p99: number;
  max: number;
  examples: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
/**
 * Idle time before an RSS reading: past V8's memory reducer delay (8 s), which collects and shrinks a
 * heap whose old generation was let grow under load (measured on ACME: live data steady at ~55 MB
 * while the heap, and RSS with it, sawtoothed up to ~170 MB between full collections).
 */
const SETTLE_MS = 12_000;

async function loadTargets(only?: string[]): Promise<FuzzTarget[]> {
  const files = readdirSync(join(here, 'targets')).filter((f) => f.endsWith('.ts')).sort();
  const out: FuzzTarget[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, 'targets', f)).href)) as { default: FuzzTarget | (() => FuzzTarget) };
    const t = typeof mod.default === 'function' ? mod.default() : mod.default;
    if (!only || only.includes(t.name)) out.push(t);
  }
  return out;
}

function describe(input: FuzzInput): string {
  const body = input.body === undefined ? '' : Buffer.from(input.body);
  const shown = typeof input.body === 'string' ? input.body.slice(0, 200) : body.toString('hex').slice(0, 200);
  return `${input.kind}: ${input.method} ${input.path.slice(0, 200)} ${JSON.stringify(input.headers ?? {}).slice(0, 200)} ${shown}`;
}

async function fuzzTarget(server: Certgate, target: FuzzTarget, a: Args, temp: () => string): Promise<Row> {
  const row: Row = { db: server.db, protocol: target.name, inputs: 0, ok: 0, c4xx: 0, c5xx: 0, hangs: 0, slow: 0, aborted: 0, connErrors: 0, crashes: 0, rssBefore: 0, rssAfter: 0, rssPeak: 0, seconds: 0, p50: 0, p99: 0, max: 0, examples: [] };
  const times: number[] = [];
  const timedOut: FuzzInput[] = [];
  const fs: FuzzServer = {
    baseUrl: server.baseUrl,
    adminToken: server.adminToken,
    fetch: (path, init) => fetch(`${server.baseUrl}${path}`, init),
    tempDir: temp,
  };
  await target.setup(fs);
  const rng = new Rng(a.seed ^ hash(target.name));
  const base = new URL(server.baseUrl);
  // RSS "before" is taken after a warm-up of a tenth of the run (JIT, caches, the database's buffers and
  // V8's heap settle over minutes, not seconds: the admin API on PostgreSQL levels off after ~10,000
  // inputs), "after" at the end; growth between them is what a leak would show. Both are read the same
  // way — no request in flight, after SETTLE_MS idle — so that a backup or a CRL build under way at
  // one instant (transient, freed when done) is not read as growth. The peak is reported beside them.
  const startRss = server.rss();
  const warm = Math.max(200, Math.floor(a.count / 10));
  const start = Date.now();
  const deadline = start + a.timeSeconds * 1000;
  let issued = 0;
  let inFlight = 0;
  let pause: { promise: Promise<void>; release: () => void } | undefined;
  const peak = setInterval(() => (row.rssPeak = Math.max(row.rssPeak, server.rss())), 1000);
  const settledRss = async () => {
    // A short pass does not judge memory: it reads RSS without waiting.
    if (a.rssGate) await new Promise((r) => setTimeout(r, SETTLE_MS));
    return server.alive() ? server.rss() : 0;
  };
  const worker = async () => {
    while (issued < a.count && Date.now() < deadline && server.alive()) {
      if (pause) {
        await pause.promise;
        continue;
      }
      if (issued === warm && !row.rssBefore) {
        // Hold every worker, let the requests in flight finish, then read the settled RSS.
        let release!: () => void;
        pause = { promise: new Promise<void>((r) => (release = r)), release };
        while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
        row.rssBefore = (await settledRss()) || startRss;
        pause.release();
        pause = undefined;
        continue;
      }
      issued++;
      inFlight++;
      let input: FuzzInput;
      try {
        input = await target.next(rng);
      } catch (e) {
        // A generator that needs the server (a nonce, a token) and got a 5xx there.
        inFlight--;
        row.inputs++;
        row.c5xx++;
        if (row.examples.length < 8) row.examples.push(`generator: ${(e as Error).message}`);
        continue;
      }
      if (rng.chance(0.15)) input = mutateHttp(rng, input);
      const t0 = performance.now();
      const o = await send(base, input, a.hangMs);
      inFlight--;
      if (o.kind === 'status') times.push(performance.now() - t0);
      row.inputs++;
      if (o.kind === 'status') {
        if (o.status >= 500) {
          row.c5xx++;
          if (row.examples.filter((e) => /^5\d\d /.test(e)).length < 8) row.examples.push(`${o.status} ${describe(input)}`);
        } else if (o.status >= 400) row.c4xx++;
        else row.ok++;
      } else if (o.kind === 'hang') {
        // Judged after the run, re-sent alone: on a loaded machine a timeout may be the queue, not the input.
        if (timedOut.length < 200) timedOut.push(input);
        else row.hangs++;
      } else if (o.kind === 'aborted') row.aborted++;
      else {
        row.connErrors++;
        if (!o.message.startsWith('not sent') && !server.alive()) {
          row.crashes++;
          row.examples.push(`crash after ${describe(input)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  for (const input of timedOut) {
    if (!server.alive()) break;
    const o = await send(base, input, a.hangMs);
    if (o.kind === 'hang') {
      row.hangs++;
      if (row.examples.filter((e) => e.startsWith('hang')).length < 5) row.examples.push(`hang ${describe(input)}`);
    } else row.slow++;
  }
  clearInterval(peak);
  if (!server.alive() && row.crashes === 0) row.crashes = 1;
  row.rssAfter = (await settledRss()) || server.rss();
  if (!row.rssBefore) row.rssBefore = startRss;
  row.seconds = Math.round((Date.now() - start) / 100) / 10;
  times.sort((x, y) => x - y);
  const q = (f: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * f))] ?? 0);
  [row.p50, row.p99, row.max] = [q(0.5), q(0.99), Math.round(times.at(-1) ?? 0)];
  return row;
}

/** The first port p ≥ from where p and p + 1 can both be bound on loopback. */
async function freePortPair(from: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (let p = from; p < from + 400; p += 2) if ((await free(p)) && (await free(p + 1))) return p;
  throw new Error(`no free port pair in ${from}-${from + 400}`);
}

function hash(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

const mb = (b: number) => `${Math.round(b / 1048576)} MB`;
const growth = (r: Row) => (r.rssBefore ? (r.rssAfter - r.rssBefore) / r.rssBefore : 0);

let rssGate = true;

function failed(r: Row): boolean {
  return r.c5xx > 0 || r.hangs > 0 || r.crashes > 0 || (rssGate && growth(r) > 0.2);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  rssGate = a.rssGate;
  const targets = await loadTargets(a.protocols);
  if (targets.length === 0) throw new Error('no fuzz targets selected');
  console.log(`fuzz: seed ${a.seed}, up to ${a.count} inputs or ${a.timeSeconds} s per protocol, ${a.concurrency} in flight, databases: ${a.dbs.join(', ')}`);
  const rows: Row[] = [];
  const temps: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'certgate-fuzz-t-'));
    temps.push(d);
    return d;
  };
  try {
    const port = a.port || (await freePortPair(19400));
    for (const db of a.dbs) {
      let server = await startCertgate(db, port);
      try {
        for (const t of targets) {
          if (!server.alive()) {
            await server.stop();
            server = await startCertgate(db, port);
          }
          const r = await fuzzTarget(server, t, a, temp);
          rows.push(r);
          console.log(line(r));
          if (failed(r)) {
            for (const e of r.examples) console.log(`    ${e}`);
            const errors = readFileSync(server.logFile, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l) && !/"msg":"request"/.test(l));
            for (const l of errors.slice(0, 5)) console.log(`    server: ${l.slice(0, 600)}`);
          }
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  }
  mkdirSync('.tmp', { recursive: true });
  writeFileSync('.tmp/fuzz-report.json', JSON.stringify({ seed: a.seed, rows }, null, 2));
  const bad = rows.filter(failed);
  console.log(bad.length ? `fuzz FAILED: ${bad.map((r) => `${r.db}/${r.protocol}`).join(', ')}` : `fuzz passed: ${rows.reduce((n, r) => n + r.inputs, 0)} inputs, 0 5xx, 0 hangs, 0 crashes`);
  process.exit(bad.length ? 1 : 0);
}

function line(r: Row): string {
  const g = `${growth(r) >= 0 ? '+' : ''}${Math.round(growth(r) * 100)}%`;
  return `${r.db.padEnd(8)} ${r.protocol.padEnd(8)} inputs ${String(r.inputs).padStart(6)}  2xx/3xx ${String(r.ok).padStart(6)}  4xx ${String(r.c4xx).padStart(6)}  5xx ${r.c5xx}  hangs ${r.hangs} (slow ${r.slow})  crashes ${r.crashes}  aborted ${r.aborted}  conn-errors ${r.connErrors}  RSS ${mb(r.rssBefore)} → ${mb(r.rssAfter)} (${g}, peak ${mb(r.rssPeak)})  ms p50/p99/max ${r.p50}/${r.p99}/${r.max}  ${r.seconds} s`;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

/**
 * `node --import tsx bench/profile-pipeline.ts [pglite|postgres] [N]`: where the pipeline's CPU goes per
 * stored certificate (issue 20: "profile first"). Issues N P-256 certificates at concurrency 32 under
 * the V8 sampling profiler (inspector), then prints self time per function and per area, in µs per
 * certificate. Work on the CSR worker thread is not in this profile (it runs beside the event loop).
 */
import { Session } from 'node:inspector/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchContext, freshDb, opensslCsr, runLoad } from './support.ts';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const AREAS: [RegExp, string][] = [
  [/\(garbage collector\)/, 'GC'],
  [/\(program\)|\(idle\)/, 'program/idle'],
  [/node_modules\/postgres\//, 'postgres.js'],
  [/node_modules\/@electric-sql\/pglite/, 'PGlite'],
  [/node_modules\/drizzle-orm/, 'drizzle'],
  [/node_modules\/pino|node_modules\/prom-client/, 'logs+metrics libs'],
  [/src\/pki\//, 'DER/X.509 (src/pki)'],
  [/src\/lint\//, 'lint'],
  [/src\/profiles\//, 'profiles'],
  [/src\/issuance\//, 'pipeline'],
  [/src\/db\//, 'db layer'],
  [/src\/ca\//, 'CA/signing'],
  [/src\/audit|src\/events|src\/metrics/, 'audit/events/metrics'],
  [/^node:|^$/, 'node internals / native (crypto, buffers)'],
];

function area(url: string, fn: string): string {
  for (const [re, name] of AREAS) if (re.test(url) || re.test(fn)) return name;
  return 'other';
}

const driver = (process.argv[2] ?? 'postgres') as 'pglite' | 'postgres';
const n = Number(process.argv[3] ?? 4000);
const db = await freshDb(driver);
const ctx = await benchContext(db);
const csr = opensslCsr(mkdtempSync(join(tmpdir(), 'certgate-prof-')));
const issue = () => ctx.pipeline.issue({ principal: { id: 'bench', protocol: 'internal', authenticatedBy: 'local' }, profile: 'tls-server', key: { kind: 'csr', der: csr } });
await runLoad(500, 32, issue);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.start');
const cpu0 = process.cpuUsage();
const r = { ...(await runLoad(n, 32, issue)), n };
const cpu = process.cpuUsage(cpu0);
const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
await ctx.close();
await db.drop();

const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
const perFn = new Map<string, number>();
const perArea = new Map<string, number>();
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src|protocols)\//, '$1/')}`;
  perFn.set(key, (perFn.get(key) ?? 0) + us);
  const a = area(f.url, f.functionName);
  perArea.set(a, (perArea.get(a) ?? 0) + us);
}
const per = (us: number) => (us / r.n).toFixed(1).padStart(7);
console.log(`${driver}: ${r.n} certificates at c32, ${r.rate.toFixed(0)}/s; process CPU ${(((cpu.user + cpu.system) / r.n)).toFixed(0)} µs per certificate (user+system, all threads)`);
console.log('\nself time by area, µs per certificate (event loop thread):');
for (const [k, v] of [...perArea].sort((a, b) => b[1] - a[1])) console.log(`  ${per(v)}  ${k}`);
console.log('\ntop functions, µs per certificate:');
for (const [k, v] of [...perFn].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${per(v)}  ${k}`);

// Who calls the heaviest native frames (set CERTGATE_PROF_CALLERS=writeBuffer,run to choose).
const parent = new Map<number, number>();
for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
for (const name of (process.env.CERTGATE_PROF_CALLERS ?? 'writeBuffer,run,postMessage').split(',')) {
  const stacks = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    const chain: string[] = [];
    for (let p = parent.get(id); p !== undefined && chain.length < 6; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      chain.push(`${f.functionName || '(anon)'}@${f.url.replace(/^.*\//, '')}`);
    }
    const k = chain.join(' < ');
    stacks.set(k, (stacks.get(k) ?? 0) + us);
  }
  console.log(`\ncallers of ${name}:`);
  for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${per(v)}  ${k}`);
}

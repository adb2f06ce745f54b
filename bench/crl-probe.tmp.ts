import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { benchContext, freshDb } from './support.ts';
import { sql } from 'drizzle-orm';
const mb = () => { const m = process.memoryUsage(); return `rss ${(m.rss/1048576).toFixed(0)} heap ${(m.heapUsed/1048576).toFixed(0)}/${(m.heapTotal/1048576).toFixed(0)} ext ${(m.external/1048576).toFixed(0)} ab ${(m.arrayBuffers/1048576).toFixed(0)} max ${(process.resourceUsage().maxRSS/1024).toFixed(0)}`; };
const db = await freshDb('postgres');
const c0 = await benchContext(db);
const issuer = c0.issuers.defaultIssuer()!;
await c0.db.execute(sql`insert into certificates (id, issuer_id, serial, der, subject, not_before, not_after, profile, status, revoked_at, revocation_reason, spki_sha256, protocol, principal)
      select gen_random_uuid()::text, ${issuer.id}, '01' || substr(md5(i::text), 1, 30), '\\x00'::bytea, 'CN=fixture', now(), now() + interval '365 days', 'tls-server', 'revoked', now(), 1, 'x', 'internal', 'bench' from generate_series(1, ${Number(process.env.N ?? 100000)}::int) as i`);
await c0.db.execute(sql`analyze certificates`);
await c0.close();
console.log('after fixture ctx close', mb());
const config = loadConfig({}, { dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'silent', metricsEnabled: false });
const ctx = await createContext(config, { bootstrap: false, logger: pino({ level: 'silent' }) });
console.log('after ctx', mb());
(globalThis as any).__mb = (w: string) => console.log(w, mb());
await ctx.crls.generate(issuer.id);

console.log('after generate', mb());
await ctx.close();
await db.drop();
